from __future__ import annotations

from django.contrib import admin

from .models import Listing, PriceHistory, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class PriceHistoryInline(admin.TabularInline):
    model = PriceHistory
    extra = 0


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "created_at", "is_active")
    list_filter = ("is_active", "tags")
    search_fields = ("title", "owner__username")
    list_select_related = ("owner",)
    # 300 seeded users make a plain <select> for the owner unwieldy.
    raw_id_fields = ("owner",)
    filter_horizontal = ("tags",)
    inlines = (PriceHistoryInline,)


@admin.register(PriceHistory)
class PriceHistoryAdmin(admin.ModelAdmin):
    list_display = ("listing", "price", "recorded_at")
    list_select_related = ("listing",)
    raw_id_fields = ("listing",)
    date_hierarchy = "recorded_at"
