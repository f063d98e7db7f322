"""A small listings marketplace: users list items with tags and a price history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# Attribute name the optimised list view prefetches the newest price into.
LATEST_PRICE_ATTR = "prices_desc"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Listing(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listings"
    )
    tags = models.ManyToManyField(Tag, related_name="listings", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.title

    def latest_price(self) -> PriceHistory | None:
        """Newest price, fetched with a fresh query on every call.

        Deliberately not cached or prefetch-aware: calling it once per row from a template is
        the N+1 that the /listings/ page exists to demonstrate.
        """
        return self.prices.order_by("-recorded_at").first()

    @classmethod
    def latest_price_prefetch(cls) -> models.Prefetch:
        """Prefetch that loads only each listing's newest price, in one query for all rows.

        Read the result with `listing.prefetched_latest_price`. Sliced prefetches need
        Django 4.2+ (they compile to a window function).
        """
        newest_first = PriceHistory.objects.order_by("-recorded_at")[:1]
        return models.Prefetch("prices", queryset=newest_first, to_attr=LATEST_PRICE_ATTR)

    @property
    def prefetched_latest_price(self) -> PriceHistory | None:
        """Newest price from `latest_price_prefetch()`; never queries."""
        prefetched: list[PriceHistory] = getattr(self, LATEST_PRICE_ATTR)
        return prefetched[0] if prefetched else None


class PriceHistory(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="prices")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("recorded_at",)
        verbose_name_plural = "price history"
        indexes = [
            models.Index(fields=["listing", "recorded_at"], name="shop_price_listing_rec_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} @ {self.recorded_at:%Y-%m-%d}: {self.price}"
