from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter()
router.register("listings", api.ListingViewSet, basename="api-listing")

# No app_name: the README and the profiler examples reverse these unnamespaced.
urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("listings/", views.listing_list, name="listing-list"),
    path("listings/fast/", views.listing_list_fast, name="listing-list-fast"),
    path("listings/cbv/", views.ListingList.as_view(), name="listing-list-cbv"),
    path("listings/create/", views.listing_create, name="listing-create"),
    path("api/listings/stats/", views.listing_stats, name="listing-stats"),
    path("api/me/", api.Me.as_view(), name="api-me"),
    path("api/", include(router.urls)),  # after the paths above, which its detail route would take
    path("account/", views.account, name="account"),
    path("async-feed/", views.async_feed, name="async-feed"),
    path("boom/", views.boom, name="boom"),
    path("export.csv", views.listing_export, name="listing-export"),
]
