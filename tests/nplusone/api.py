"""A Django REST Framework list endpoint whose serializer reads two relations per row: every
frame of its N+1s is DRF's."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer

from tests.nplusone.models import Novel
from tests.nplusone.views import fixed


class NovelSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    writer = serializers.StringRelatedField()
    genres = serializers.StringRelatedField(many=True)

    class Meta:
        model = Novel
        fields = ["id", "title", "writer", "genres"]


class NovelList(generics.ListAPIView):  # type: ignore[misc]
    serializer_class = NovelSerializer
    renderer_classes = [JSONRenderer]
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get_queryset(self) -> Any:
        return fixed("api", Novel.objects.all())
