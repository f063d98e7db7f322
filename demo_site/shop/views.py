"""Views for the demo shop, each one a different thing worth profiling."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from .models import Listing, PriceHistory, Tag
from .stats import get_stats_from_queryset

FEED_SIZE = 20
FALLBACK_OWNER_EMAIL = "owner@demo.localhost"


def health(request: HttpRequest) -> HttpResponse:
    """What a load balancer polls: most lines of a real access log, and nearly free."""
    return HttpResponse("ok", content_type="text/plain")


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/home.html")


def listing_list(request: HttpRequest) -> HttpResponse:
    """Active listings, unoptimised on purpose.

    The template touches owner, tags and latest_price() per row, so this page runs about
    three queries per listing: the N+1 that `profile_view` is meant to expose.
    """
    listings = Listing.objects.filter(is_active=True)
    return render(request, "shop/listing_list.html", {"listings": listings})


def listing_list_fast(request: HttpRequest) -> HttpResponse:
    """Same page as `listing_list`, in a constant number of queries whatever the row count."""
    listings = (
        Listing.objects.filter(is_active=True)
        .select_related("owner")
        .prefetch_related("tags", Listing.latest_price_prefetch())
    )
    context = {"listings": listings, "prices_prefetched": True}
    return render(request, "shop/listing_list.html", context)


def listing_stats(request: HttpRequest) -> JsonResponse:
    return JsonResponse(get_stats_from_queryset())


@login_required
def account(request: HttpRequest) -> HttpResponse:
    context = {"listing_count": request.user.listings.count()}
    return render(request, "shop/account.html", context)


class ListingList(ListView):
    template_name = "shop/listing_cbv.html"
    context_object_name = "listings"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Listing]:
        return Listing.objects.filter(is_active=True).select_related("owner")


class ListingCreateForm(forms.Form):
    title = forms.CharField(max_length=200)
    price = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)


@require_POST
@login_required
def listing_create(request: HttpRequest) -> JsonResponse:
    """Create a listing from form fields or a JSON body: title, price, optional tag(s)."""
    try:
        data, tag_names = _read_create_payload(request)
    except ValueError as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=400)
    form = ListingCreateForm(data)
    tag_field = forms.CharField(max_length=Tag._meta.get_field("name").max_length)
    errors: dict[str, list[str]] = {}
    try:
        tag_names = [tag_field.clean(name.strip()) for name in tag_names if name.strip()]
    except forms.ValidationError as exc:
        errors["tag"] = list(exc.messages)
    if not form.is_valid() or errors:
        errors.update({field: list(messages) for field, messages in form.errors.items()})
        return JsonResponse({"errors": errors}, status=400)

    with transaction.atomic():
        listing = Listing.objects.create(
            title=form.cleaned_data["title"],
            owner=request.user,
            created_at=timezone.now(),
        )
        PriceHistory.objects.create(
            listing=listing, price=form.cleaned_data["price"], recorded_at=listing.created_at
        )
        tags = [Tag.objects.get_or_create(name=name)[0] for name in dict.fromkeys(tag_names)]
        listing.tags.add(*tags)

    send_mail(
        subject=f"Your listing “{listing.title}” is live",
        message=f"Hi {request.user.get_username()}, your listing #{listing.pk} was created.",
        from_email=None,  # DEFAULT_FROM_EMAIL
        recipient_list=[request.user.email or FALLBACK_OWNER_EMAIL],
    )
    return JsonResponse({"id": listing.pk, "title": listing.title}, status=201)


def _read_create_payload(request: HttpRequest) -> tuple[dict[str, Any], list[str]]:
    """Form fields and tag names from either a form post or a JSON object body."""
    if request.content_type != "application/json":
        return request.POST.dict(), request.POST.getlist("tag")
    try:
        body = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"Invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("JSON body must be an object.")
    tags = body.get("tag", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError("'tag' must be a string or a list of strings.")
    return body, tags


async def async_feed(request: HttpRequest) -> JsonResponse:
    """Newest listings via the async ORM, with an await and some CPU-bound ranking."""
    newest = Listing.objects.select_related("owner").order_by("-created_at")[:FEED_SIZE]
    listings = [listing async for listing in newest]
    total = await Listing.objects.acount()
    # Stands in for a call to another service: time spent waiting, not computing.
    await asyncio.sleep(0.01)
    return JsonResponse({"total": total, "items": _score_feed(listings, timezone.now())})


def _score_feed(listings: list[Listing], now: datetime) -> list[dict[str, Any]]:
    """Rank newest-first `listings` by recency, penalising titles like newer ones (diversity).

    Trigram sets are rebuilt for every pair rather than once per title: wasteful, and a
    few milliseconds of CPU for the profiler to find.
    """
    items = []
    for position, listing in enumerate(listings):
        age_days = max((now - listing.created_at).total_seconds() / 86400, 0.0)
        recency = 1.0 / (1.0 + age_days / 30)
        similarity = 0.0
        for newer in listings[:position]:
            similarity = max(similarity, _jaccard(listing.title, newer.title))
        items.append(
            {
                "id": listing.pk,
                "title": listing.title,
                "owner": listing.owner.username,
                "score": round(recency * (1.0 - 0.5 * similarity), 4),
            }
        )
    items.sort(key=lambda item: item["score"], reverse=True)
    return items


def _jaccard(left: str, right: str) -> float:
    left_grams, right_grams = _trigrams(left), _trigrams(right)
    union = left_grams | right_grams
    return len(left_grams & right_grams) / len(union) if union else 0.0


def _trigrams(text: str) -> set[str]:
    padded = f"  {text.lower()} "
    grams = set()
    for start in range(len(padded) - 2):
        grams.add(padded[start : start + 3])
    return grams


def boom(request: HttpRequest) -> HttpResponse:
    Listing.objects.exists()
    raise RuntimeError("Deliberate failure for the profiler demo")


class _Echo:
    """File-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def listing_export(request: HttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_export_rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="listings.csv"'
    return response


def _export_rows() -> Iterator[str]:
    # Runs while the response streams, i.e. after the view has returned: its queries (one
    # latest_price() per row) happen outside the view function's own frame.
    writer = csv.writer(_Echo())
    yield writer.writerow(["id", "title", "owner", "created_at", "is_active", "latest_price"])
    for listing in Listing.objects.select_related("owner").iterator(chunk_size=100):
        price = listing.latest_price()
        yield writer.writerow(
            [
                listing.pk,
                listing.title,
                listing.owner.username,
                listing.created_at.isoformat(),
                listing.is_active,
                price.price if price else "",
            ]
        )
