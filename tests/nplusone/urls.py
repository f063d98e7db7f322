from __future__ import annotations

from django.urls import path

from tests.nplusone import api, views

VIEWS = [
    "forward", "editors", "one_to_one", "reverse_one", "prices", "genres", "genre_novels",
    "labels", "labelled", "publishers", "summaries", "cheapest", "euro", "counts", "lookups",
    "saves", "include", "inclusion", "extended", "two_loops", "best_and_worst", "averages",
    "two_m2m", "two_owners", "genre_counts", "reloads",
    "joined_then_profile",
]  # fmt: skip

urlpatterns = [path(f"{name}/", getattr(views, name), name=f"n-{name}") for name in VIEWS]
urlpatterns.append(path("api/", api.NovelList.as_view(), name="n-api"))
