"""The JSON API's serializers, written the way they usually are first: each listing's owner
and tags are read per row, so the list endpoint runs an N+1 from inside Django REST
framework's own loop (which ``profile_view`` reports with the library frames that ran it)."""

from __future__ import annotations

from rest_framework import serializers

from .models import Listing, Tag


class ListingSerializer(serializers.ModelSerializer[Listing]):
    owner = serializers.CharField(source="owner.username", read_only=True)
    tags = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Tag.objects.all(), required=False
    )
    price = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = ["id", "title", "owner", "tags", "price", "created_at"]
        read_only_fields = ["created_at"]

    def get_price(self, listing: Listing) -> str | None:
        latest = listing.latest_price()
        return None if latest is None else str(latest.price)
