"""Fill the demo database with deterministic, realistically sized data.

Every value derives from --seed (listing i draws from its own Random, so adding listings
later does not reshuffle existing ones) and from a fixed reference date instead of now(),
so profiles of the same page are comparable between machines and runs.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count

from shop.models import Listing, PriceHistory, Tag

# Fixed "now" for all seeded dates (ISO string: avoids the datetime.UTC / timezone.utc split).
REFERENCE_DATE = datetime.fromisoformat("2025-01-01T12:00:00+00:00")

TAG_NAMES = (
    "bikes",
    "books",
    "camping",
    "electronics",
    "furniture",
    "garden",
    "home-office",
    "kitchen",
    "music",
    "photography",
    "toys",
    "vintage",
)
CONDITIONS = ("Like-new", "Vintage", "Barely used", "Refurbished", "Well-loved", "Boxed")
ITEMS = (
    "oak dining table",
    "road bike, 54 cm frame",
    "espresso machine",
    "mid-century armchair",
    "4-person tent",
    "mechanical keyboard",
    "acoustic guitar",
    "film camera with 50 mm lens",
    "standing desk",
    "cast-iron skillet set",
    "box of sci-fi paperbacks",
    "wooden train set",
    "cordless lawn mower",
    "turntable",
    "27-inch monitor",
    "hiking backpack, 45 L",
)
PLACES = ("Leith", "Camden", "Kreuzberg", "Le Marais", "Brooklyn", "Södermalm", "Gràcia")
DETAILS = (
    "Collection only.",
    "Happy to post at cost.",
    "Smoke-free home.",
    "Small scuff, see photos.",
    "Original receipt included.",
    "Moving abroad, must go this month.",
    "Price negotiable for quick sale.",
)


# alice's token for the JSON API (see _seed_token).
DEMO_TOKEN = "d2f0a4ad7f3c5a5a4e1b1b0c43d7c1c8b9e6f2a1"


def planned_usernames(count: int) -> list[str]:
    """alice first (so she is pk 1 on a fresh database), then bob, then user003, user004..."""
    named = ["alice", "bob"]
    return named[:count] + [f"user{number:03d}" for number in range(3, count + 1)]


class Command(BaseCommand):
    help = "Seed the demo shop with deterministic users, tags, listings and price history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--listings", type=int, default=150, help="Listings (default 150).")
        parser.add_argument(
            "--prices", type=int, default=20, help="Price points per listing (default 20)."
        )
        parser.add_argument("--users", type=int, default=300, help="Users (default 300, min 2).")
        parser.add_argument("--seed", type=int, default=2024, help="Random seed (default 2024).")

    def handle(self, *args: Any, **options: Any) -> None:
        n_users, n_listings = options["users"], options["listings"]
        n_prices, seed = options["prices"], options["seed"]
        if n_users < 2 or n_listings < 0 or n_prices < 1:
            raise CommandError("Need --users >= 2, --listings >= 0 and --prices >= 1.")

        started = time.perf_counter()
        if self._is_seeded(n_users, n_listings, n_prices):
            self._seed_token()
            self.stdout.write("Demo data already seeded; nothing to do.")
            return
        with transaction.atomic():
            user_ids = self._seed_users(n_users)
            tag_ids = self._seed_tags()
            self._seed_listings(n_listings, n_prices, seed, user_ids, tag_ids)
            self._seed_token()

        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {get_user_model().objects.count()} users, {Tag.objects.count()} tags, "
                f"{Listing.objects.count()} listings "
                f"({Listing.objects.filter(is_active=True).count()} active), "
                f"{PriceHistory.objects.count()} prices in {elapsed:.1f}s."
            )
        )

    def _is_seeded(self, n_users: int, n_listings: int, n_prices: int) -> bool:
        """Cheap count-based check, so a second run returns almost immediately."""
        users = get_user_model().objects.filter(username__in=planned_usernames(n_users))
        if users.count() < n_users:
            return False
        if Tag.objects.filter(name__in=TAG_NAMES).count() < len(TAG_NAMES):
            return False
        seeded_ids = list(Listing.objects.order_by("id").values_list("id", flat=True)[:n_listings])
        if len(seeded_ids) < n_listings:
            return False
        short_of_prices = (
            Listing.objects.filter(id__in=seeded_ids)
            .annotate(n=Count("prices"))
            .filter(n__lt=n_prices)
        )
        return not short_of_prices.exists()

    def _seed_users(self, count: int) -> list[int]:
        """Create the missing planned users; return all of their ids in planned order."""
        User = get_user_model()
        usernames = planned_usernames(count)
        existing = set(
            User.objects.filter(username__in=usernames).values_list("username", flat=True)
        )
        new_users = []
        for username in usernames:
            if username in existing:
                continue
            user = User(username=username, email=f"{username}@example.com")
            if username == "alice":
                # Staff so she can sign in through the admin login page (LOGIN_URL). Only
                # she gets a real password: hashing 300 of them would dominate seeding time.
                user.password = make_password("alice")
                user.is_staff = user.is_superuser = True
            else:
                user.set_unusable_password()
            new_users.append(user)
        User.objects.bulk_create(new_users)
        ids = dict(User.objects.filter(username__in=usernames).values_list("username", "id"))
        return [ids[username] for username in usernames]

    def _seed_token(self) -> None:
        """alice's API token, the same on every machine so the README's examples can use it
        (a demo value: a real token is random, ``drf_create_token`` makes one)."""
        from rest_framework.authtoken.models import Token

        alice = get_user_model().objects.filter(username="alice").first()
        if alice is not None:
            Token.objects.get_or_create(user=alice, defaults={"key": DEMO_TOKEN})

    def _seed_tags(self) -> list[int]:
        Tag.objects.bulk_create([Tag(name=name) for name in TAG_NAMES], ignore_conflicts=True)
        return list(
            Tag.objects.filter(name__in=TAG_NAMES).order_by("name").values_list("id", flat=True)
        )

    def _seed_listings(
        self, count: int, n_prices: int, seed: int, user_ids: list[int], tag_ids: list[int]
    ) -> None:
        existing = Listing.objects.count()
        Listing.objects.bulk_create(
            [_plan_listing(index, seed, user_ids) for index in range(existing, count)]
        )
        # Re-read ids rather than trusting bulk_create to set pks (it can't on old SQLite).
        listing_ids = list(Listing.objects.order_by("id").values_list("id", flat=True)[:count])

        tag_links = []
        for index in range(existing, count):
            rng = random.Random(f"{seed}-tags-{index}")
            for tag_id in rng.sample(tag_ids, rng.randint(1, 3)):
                tag_links.append(Listing.tags.through(listing_id=listing_ids[index], tag_id=tag_id))
        Listing.tags.through.objects.bulk_create(tag_links, ignore_conflicts=True)

        have = dict(
            Listing.objects.filter(id__in=listing_ids)
            .annotate(n=Count("prices"))
            .values_list("id", "n")
        )
        created_at = dict(
            Listing.objects.filter(id__in=listing_ids).values_list("id", "created_at")
        )
        prices = []
        for index, listing_id in enumerate(listing_ids):
            walk = _price_walk(index, seed, n_prices, created_at[listing_id])
            # The walk is prefix-stable, so topping up only appends the missing tail.
            prices.extend(
                PriceHistory(listing_id=listing_id, price=price, recorded_at=recorded_at)
                for price, recorded_at in walk[have[listing_id] :]
            )
        PriceHistory.objects.bulk_create(prices, batch_size=500)


def _plan_listing(index: int, seed: int, user_ids: list[int]) -> Listing:
    rng = random.Random(f"{seed}-listing-{index}")
    item = rng.choice(ITEMS)
    details = " ".join(rng.sample(DETAILS, 2))
    return Listing(
        title=f"{rng.choice(CONDITIONS)} {item} in {rng.choice(PLACES)}",
        description=f"Selling my {item}. {details}",
        owner_id=rng.choice(user_ids),
        created_at=REFERENCE_DATE
        - timedelta(days=rng.randint(150, 720), minutes=rng.randint(0, 1439)),
        # A few inactive rows, so the active filter on the list pages means something.
        is_active=rng.random() > 0.06,
    )


def _price_walk(
    index: int, seed: int, steps: int, start: datetime
) -> list[tuple[Decimal, datetime]]:
    """Random-walk prices, one every few days after the listing was created."""
    rng = random.Random(f"{seed}-prices-{index}")
    price = rng.uniform(15, 1500)
    recorded_at = start
    walk = []
    for _ in range(steps):
        walk.append((Decimal(f"{price:.2f}"), recorded_at))
        price = max(1.0, price * (1 + rng.gauss(-0.005, 0.04)))
        recorded_at += timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 23))
    return walk
