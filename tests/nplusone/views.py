"""A view per relation kind an N+1 can loop through. Each builds its queryset with
``fixed()``, through which a test applies the hint the profiler printed (``FIXES``), as a
developer would edit the view."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tests.nplusone.models import Genre, Label, Novel, Price, Writer, WriterProfile

# view name -> the fixes the profiler printed (django_profilecmds.analysis.hints.Fix)
FIXES: dict[str, list[Any]] = {}
# The inner querysets a Prefetch(..., to_attr=...) fix needs: what the view filters per row.
INNER = {
    "cheapest": lambda: Price.objects.order_by("amount")[:1],  # as the hint says
    "euro": lambda: Price.objects.filter(currency="EUR"),
    "best_and_worst": lambda: Price.objects.order_by("amount")[:1],
    "best_and_worst prices_list_2": lambda: Price.objects.order_by("-amount")[:1],
}
ONLY = ("title",)  # the fields the summaries view loads


def fixed(view: str, queryset: QuerySet[Any]) -> QuerySet[Any]:
    for fix in FIXES.get(view, []):
        assert fix.model == queryset.model._meta.label, (fix.model, queryset.model)
        if fix.method == "only":
            queryset = queryset.only(*ONLY, fix.lookup)
        elif fix.to_attr:
            inner = INNER.get(f"{view} {fix.to_attr}", INNER[view])()
            queryset = queryset.prefetch_related(Prefetch(fix.lookup, inner, to_attr=fix.to_attr))
        else:
            queryset = getattr(queryset, fix.method)(fix.lookup)
    return queryset


def _attr(view: str) -> str | None:
    return next((fix.to_attr for fix in FIXES.get(view, []) if fix.to_attr), None)


def forward(request: HttpRequest) -> HttpResponse:
    novels = fixed("forward", Novel.objects.all())
    return render(request, "nplusone/forward.html", {"novels": novels})


def editors(request: HttpRequest) -> JsonResponse:
    names = [novel.editor.name for novel in fixed("editors", Novel.objects.all())]
    return JsonResponse({"editors": names})


def one_to_one(request: HttpRequest) -> JsonResponse:
    profiles = fixed("one_to_one", WriterProfile.objects.order_by("id"))
    return JsonResponse({"writers": [profile.writer.name for profile in profiles]})


def reverse_one(request: HttpRequest) -> JsonResponse:
    writers = fixed("reverse_one", Writer.objects.order_by("id"))
    return JsonResponse({"bios": [writer.profile.bio for writer in writers]})


def prices(request: HttpRequest) -> HttpResponse:
    novels = fixed("prices", Novel.objects.all())
    return render(request, "nplusone/prices.html", {"novels": novels})


def genres(request: HttpRequest) -> HttpResponse:
    novels = fixed("genres", Novel.objects.all())
    return render(request, "nplusone/genres.html", {"novels": novels})


def genre_novels(request: HttpRequest) -> JsonResponse:
    genres = fixed("genre_novels", Genre.objects.order_by("id"))
    return JsonResponse({g.name: [n.title for n in g.novels.all()] for g in genres})


def labels(request: HttpRequest) -> HttpResponse:
    novels = fixed("labels", Novel.objects.all())
    return render(request, "nplusone/labels.html", {"novels": novels})


def labelled(request: HttpRequest) -> JsonResponse:
    labels = fixed("labelled", Label.objects.order_by("id"))
    return JsonResponse({"labelled": [str(label.content_object) for label in labels]})


def publishers(request: HttpRequest) -> HttpResponse:
    novels = fixed("publishers", Novel.objects.all())
    return render(request, "nplusone/publishers.html", {"novels": novels})


def summaries(request: HttpRequest) -> JsonResponse:
    novels = fixed("summaries", Novel.objects.only(*ONLY))
    return JsonResponse({"summaries": [novel.summary for novel in novels]})


def cheapest(request: HttpRequest) -> JsonResponse:
    attr = _attr("cheapest")
    result = []
    for novel in fixed("cheapest", Novel.objects.all()):
        if attr:
            price = (getattr(novel, attr)[:1] or [None])[0]
        else:
            price = novel.prices.order_by("amount").first()
        result.append(price.amount if price else None)
    return JsonResponse({"cheapest": result})


def euro(request: HttpRequest) -> JsonResponse:
    attr = _attr("euro")
    result = {}
    for novel in fixed("euro", Novel.objects.all()):
        rows = getattr(novel, attr) if attr else novel.prices.filter(currency="EUR")
        result[novel.title] = [price.amount for price in rows]
    return JsonResponse(result)


def counts(request: HttpRequest) -> JsonResponse:
    novels = fixed("counts", Novel.objects.all())
    return JsonResponse({novel.title: novel.prices.count() for novel in novels})


def lookups(request: HttpRequest) -> JsonResponse:
    ids = list(Novel.objects.values_list("id", flat=True))
    return JsonResponse({"titles": [Novel.objects.get(pk=pk).title for pk in ids]})


def two_loops(request: HttpRequest) -> JsonResponse:
    names = [novel.writer.name for novel in fixed("two_loops", Novel.objects.all())]
    houses = [writer.publisher.name for writer in Writer.objects.order_by("id")]
    return JsonResponse({"names": names, "houses": houses})


def best_and_worst(request: HttpRequest) -> JsonResponse:
    fixes = FIXES.get("best_and_worst", [])
    result = []
    for novel in fixed("best_and_worst", Novel.objects.all()):
        if fixes:  # the two Prefetch lists, cheapest first and dearest first
            cheapest, dearest = (getattr(novel, fix.to_attr)[0] for fix in fixes)
        else:
            cheapest = novel.prices.order_by("amount").first()
            dearest = novel.prices.order_by("amount").last()
        result.append([cheapest.amount, dearest.amount])
    return JsonResponse({"range": result})


def averages(request: HttpRequest) -> JsonResponse:
    from django.db.models import Avg

    novels = Novel.objects.all()
    return JsonResponse({n.title: n.prices.aggregate(Avg("amount"))["amount__avg"] for n in novels})


def two_m2m(request: HttpRequest) -> HttpResponse:
    novels = fixed("two_m2m", Novel.objects.all())
    return render(request, "nplusone/two_m2m.html", {"novels": novels})


def two_owners(request: HttpRequest) -> JsonResponse:
    novels = {n.title: [label.name for label in n.labels.all()] for n in Novel.objects.all()}
    writers = fixed("two_owners", Writer.objects.order_by("id"))
    return JsonResponse(
        {"novels": novels, "writers": [[x.name for x in w.labels.all()] for w in writers]}
    )


def genre_counts(request: HttpRequest) -> JsonResponse:
    novels = fixed("genre_counts", Novel.objects.all())
    return JsonResponse({n.title: [n.genres.count(), n.shortlisted.exists()] for n in novels})


def reloads(request: HttpRequest) -> JsonResponse:
    novels = list(Novel.objects.all())
    for novel in novels:
        novel.refresh_from_db()
    return JsonResponse({"titles": [novel.title for novel in novels]})


def joined_then_profile(request: HttpRequest) -> JsonResponse:
    """The writer comes joined already; the writer's profile is read per novel."""
    novels = fixed("joined_then_profile", Novel.objects.select_related("writer"))
    return JsonResponse({"bios": [novel.writer.profile.bio for novel in novels]})


def saves(request: HttpRequest) -> JsonResponse:
    for novel in Novel.objects.all():
        novel.title += "!"
        novel.save(update_fields=["title"])
    return JsonResponse({"saved": True})


def include(request: HttpRequest) -> HttpResponse:
    novels = fixed("include", Novel.objects.all())
    return render(request, "nplusone/include.html", {"novels": novels})


def inclusion(request: HttpRequest) -> HttpResponse:
    novels = fixed("inclusion", Novel.objects.all())
    return render(request, "nplusone/inclusion.html", {"novels": novels})


def extended(request: HttpRequest) -> HttpResponse:
    novels = fixed("extended", Novel.objects.all())
    return render(request, "nplusone/extended.html", {"novels": novels})
