"""A Django REST framework API over the listings: a viewset behind a router, and an endpoint
that knows its caller by token only (as most APIs called by other programs do)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import permissions, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Listing
from .serializers import ListingSerializer


class ListingViewSet(viewsets.ModelViewSet[Listing]):
    """``/api/listings/``: a page of active listings, newest first; POST creates one."""

    serializer_class = ListingSerializer
    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> QuerySet[Listing]:
        return Listing.objects.filter(is_active=True).order_by("-created_at", "-id")

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.request.user, created_at=timezone.now())


class Me(APIView):
    """``/api/me/``: who the token belongs to. Sessions are not accepted here."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"id": user.pk, "username": user.get_username()})
