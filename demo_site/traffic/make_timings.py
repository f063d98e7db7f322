"""Writes timings.jsonl: a day of the demo shop's traffic as its structured logger records it,
one JSON object per request with its response time and the time of each layer (database,
cache). Deterministic; run it again after changing it: ``python make_timings.py``.

What is planted: from 11:30, /api/listings/stats/ turns slow now and then (its queries do: a
report reads the whole table), and that is what moves the shop's response time from one minute
to the next. Meanwhile the morning's traffic grows, and with it every view's response time: a
trend that every series shares, which is not a cause.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
MINUTES = 4 * 60
SLOW_FROM = 150  # 11:30
# path, method, requests per minute at 09:00, response time (s), share of it in the database
VIEWS = [
    ("/", "GET", 3, 0.018, 0.3),
    ("/listings/", "GET", 2, 0.045, 0.5),
    ("/listings/?page=2", "GET", 1, 0.047, 0.5),
    ("/api/listings/", "GET", 2, 0.060, 0.55),
    ("/api/listings/stats/", "GET", 1, 0.090, 0.7),
    ("/account/", "GET", 1, 0.025, 0.3),
    ("/health/", "GET", 1, 0.002, 0.0),
]


def main() -> None:
    rng = random.Random(20261120)
    lines = []
    for minute in range(MINUTES):
        load = 1 + 1.2 * minute / MINUTES  # busier through the morning
        slow = minute >= SLOW_FROM and rng.random() < 0.45
        extra = rng.expovariate(1 / 0.25) if slow else 0.0
        for path, method, rate, base, db_share in VIEWS:
            for _ in range(round(rate * load) + rng.randint(0, 1)):
                db = base * db_share * load * rng.lognormvariate(0, 0.1)
                duration = base * (1 - db_share) * load * rng.lognormvariate(0, 0.1) + db
                if path == "/api/listings/stats/":
                    duration += extra
                    db += extra * 0.9
                cache = 0.0005 * rng.uniform(0.5, 1.5) if path in ("/", "/listings/") else 0.0
                moment = START + timedelta(minutes=minute, seconds=rng.uniform(0, 59.99))
                lines.append(
                    json.dumps(
                        {
                            "time": moment.isoformat(timespec="milliseconds").replace(
                                "+00:00", "Z"
                            ),
                            "method": method,
                            "path": path,
                            "status": 200,
                            "duration_ms": round(duration * 1000, 2),
                            "db_ms": round(db * 1000, 2),
                            **({"cache_ms": round(cache * 1000, 3)} if cache else {}),
                        },
                        separators=(",", ":"),
                    )
                )
        lines.append(
            json.dumps(
                {
                    "time": (START + timedelta(minutes=minute, seconds=30))
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "method": "GET",
                    "path": "/static/shop.css",
                    "status": 200,
                    "duration_ms": 0.4,
                },
                separators=(",", ":"),
            )
        )
    lines.sort(key=lambda line: json.loads(line)["time"])
    target = Path(__file__).with_name("timings.jsonl")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {target.name}: {len(lines)} lines")


if __name__ == "__main__":
    main()
