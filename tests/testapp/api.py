"""A small Django REST framework API over the books, routed the ways DRF projects route theirs:
a viewset behind a DefaultRouter (list and detail routes, format suffixes), an APIView, a
generic ListAPIView behind a regex route, and endpoints that know their caller by token only."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, permissions, serializers, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from tests.testapp.models import Author, Book


class BookSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Book
        fields = ["id", "title", "author"]


class BookViewSet(viewsets.ModelViewSet):  # type: ignore[misc]
    """``/api/books/`` (GET list, POST create) and ``/api/books/<pk>/``."""

    serializer_class = BookSerializer
    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> Any:
        return Book.objects.order_by("id")


class Me(APIView):  # type: ignore[misc]
    """``/api/me/``: who the token belongs to; sessions are not accepted (401, with a
    ``WWW-Authenticate: Token`` header)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk, "email": request.user.get_username()})


class JWTAuthentication(TokenAuthentication):  # type: ignore[misc]
    """``Authorization: Bearer <key>``, and no ``WWW-Authenticate`` header: DRF then answers
    403 to a request without credentials, as many JWT packages' views do."""

    keyword = "Bearer"

    def authenticate_header(self, request: Request) -> None:
        return None


class Profile(Me):
    """``/api/profile/``: a bearer token only; an anonymous request gets 403."""

    authentication_classes = [JWTAuthentication]


class AuthorNames(generics.ListAPIView):  # type: ignore[misc]
    """``/api/tags`` or ``/api/tags/``, through a regex route."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(sorted(Author.objects.values_list("name", flat=True)))


router = DefaultRouter()
router.register("books", BookViewSet, basename="api-book")
