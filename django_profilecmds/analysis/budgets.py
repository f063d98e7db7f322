"""Budgets for CI: limits on queries, duplicate queries and database time per run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budgets:
    max_queries: int | None = None
    max_duplicates: int | None = None
    max_db_time_ms: float | None = None

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.max_queries, self.max_duplicates, self.max_db_time_ms)
        )


def check_budgets(budgets: Budgets, queries: int, duplicates: int, db_time_ms: float) -> list[str]:
    """One sentence per exceeded budget, saying by how much; empty when all are met."""
    failures = []
    if budgets.max_queries is not None and queries > budgets.max_queries:
        failures.append(
            f"--max-queries {budgets.max_queries}: {queries} queries per run "
            f"({queries - budgets.max_queries} over)."
        )
    if budgets.max_duplicates is not None and duplicates > budgets.max_duplicates:
        failures.append(
            f"--max-duplicates {budgets.max_duplicates}: {duplicates} duplicate queries per run "
            f"({duplicates - budgets.max_duplicates} over)."
        )
    if budgets.max_db_time_ms is not None and db_time_ms > budgets.max_db_time_ms:
        failures.append(
            f"--max-db-time-ms {budgets.max_db_time_ms:g}: {db_time_ms:.1f} ms in the database "
            f"per run ({db_time_ms - budgets.max_db_time_ms:.1f} ms over)."
        )
    return failures
