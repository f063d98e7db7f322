"""Per-listing price statistics, computed the slow way.

Everything here is plain Python over Decimals, with a few classic naive patterns left in on
purpose (a mean recomputed inside the variance loop, an insertion-sort median, a moving
average that re-sums every window). They make the hot lines obvious under
`profile_function` / line-profiler, which is the point of this module.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from .models import Listing, PriceHistory

MOVING_AVERAGE_WINDOW = 5
CENTS = Decimal("0.01")


def demo_input() -> QuerySet[Listing]:
    """Zero-argument factory for a representative argument to `get_stats_from_queryset`."""
    return Listing.objects.filter(is_active=True)


def get_stats_from_queryset(
    queryset: QuerySet[Listing] | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Price statistics for each listing in `queryset` (all active listings by default)."""
    if queryset is None:
        queryset = demo_input()
    if limit is not None:
        queryset = queryset[:limit]
    listings = list(queryset)
    # One flat query for every price: model instances would cost more than the maths, and
    # the cost of this function is meant to be the Python below.
    rows = (
        PriceHistory.objects.filter(listing__in=[listing.pk for listing in listings])
        .order_by("listing_id", "recorded_at")
        .values_list("listing_id", "price")
    )
    prices_by_listing: dict[int, list[Decimal]] = {listing.pk: [] for listing in listings}
    for listing_id, price in rows:
        prices_by_listing[listing_id].append(price)
    results = [_listing_stats(listing, prices_by_listing[listing.pk]) for listing in listings]
    return {"count": len(results), "listings": results}


def _listing_stats(listing: Listing, prices: list[Decimal]) -> dict[str, Any]:
    """Oldest-first `prices` summarised for one listing."""
    stats: dict[str, Any] = {"id": listing.pk, "title": listing.title, "n": len(prices)}
    if not prices:
        return stats
    stats.update(
        mean=_q(_mean(prices)),
        median=_q(_median(prices)),
        stdev=_q(_stdev(prices)),
        min=_minimum(prices),
        max=_maximum(prices),
        moving_average=[_q(value) for value in _moving_average(prices)],
        percent_change=_q(_percent_change(prices)),
    )
    return stats


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENTS)


def _mean(values: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for value in values:
        total += value
    return total / len(values)


def _median(values: list[Decimal]) -> Decimal:
    # Insertion sort instead of sorted(): quadratic, and the profiler will say so.
    ordered: list[Decimal] = []
    for value in values:
        position = 0
        while position < len(ordered) and ordered[position] < value:
            position += 1
        ordered.insert(position, value)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _stdev(values: list[Decimal]) -> Decimal:
    """Sample standard deviation."""
    if len(values) < 2:
        return Decimal(0)
    squared = Decimal(0)
    for value in values:
        # The mean is recomputed for every element: the classic line-profiler hotspot.
        squared += (value - _mean(values)) ** 2
    return (squared / (len(values) - 1)).sqrt()


def _minimum(values: list[Decimal]) -> Decimal:
    lowest = values[0]
    for value in values[1:]:
        if value < lowest:
            lowest = value
    return lowest


def _maximum(values: list[Decimal]) -> Decimal:
    highest = values[0]
    for value in values[1:]:
        if value > highest:
            highest = value
    return highest


def _moving_average(values: list[Decimal], window: int = MOVING_AVERAGE_WINDOW) -> list[Decimal]:
    averages: list[Decimal] = []
    for end in range(window, len(values) + 1):
        averages.append(_mean(values[end - window : end]))
    return averages


def _percent_change(values: list[Decimal]) -> Decimal:
    """Change from the first to the last price, in percent."""
    first = values[0]
    if not first:
        return Decimal(0)
    return (values[-1] - first) / first * 100
