"""
An organisation's change stamp, and what is cached on it.

`slagov.ChangeMark` rows are appended, on PostgreSQL, by statement-level
triggers on the tables the derived pages read (migrations 0007 and 0008: bulk
writes, `COPY` and raw SQL included) and by the status engine for what it
writes (`mark`). The stamp is the count and the highest id of an
organisation's marks: any write moves it, and the count also moves when a
transaction with a lower id commits late. A value cached under the stamp (with
the day, time zone and language) is read until something it was worked out
from changes. SQLite (the embedded demo, small data) has no triggers: there
nothing is cached and `cached` always computes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation

from slagov.models import ChangeMark

T = TypeVar("T")
CACHE_SECONDS = 26 * 3600  # a key names its day: it is never read after that
PRUNE_AFTER = timedelta(hours=1)


def caching() -> bool:
    """Only PostgreSQL has the triggers that keep the stamp."""
    return connection.vendor == "postgresql"


def stamp(organization_id: int) -> tuple[int, int | None]:
    """(count, highest id) of the organisation's change marks: moves on every write."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), max(id) FROM {ChangeMark._meta.db_table} "  # noqa: S608 (our table)
            "WHERE organization_id = %s",
            [organization_id],
        )
        count, last = cursor.fetchone()
    return count, last


def mark(organization_id: int) -> None:
    """Note a write the triggers don't see (the engine's derived tables)."""
    if caching():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ChangeMark._meta.db_table} (organization_id) "  # noqa: S608
                "VALUES (%s)",
                [organization_id],
            )


def cached(name: str, organization_id: int, today: date, compute: Callable[[], T]) -> T:
    """
    `compute()` for this organisation, from the cache while its stamp, the day,
    the time zone and the language are those it was worked out under. The stamp
    is read before computing: a write meanwhile only makes the next read compute.
    """
    if not caching():
        return compute()
    count, last = stamp(organization_id)
    key = (
        f"{name}:{organization_id}:{count}:{last}:{today.isoformat()}:"
        f"{timezone.get_current_timezone_name()}:{translation.get_language()}"
    )
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def prune_change_marks(*, older_than: timedelta = PRUNE_AFTER) -> int:
    """
    Delete change marks older than `older_than`, but each organisation's newest:
    the stamp then still moves on the next write, and a transaction that commits
    late (with a lower id) is long done by then. Returns the rows deleted.
    """
    if not caching():
        return 0
    table = ChangeMark._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} AS m WHERE m.at < now() - %s "  # noqa: S608 (our table)
            f"AND m.id < (SELECT max(n.id) FROM {table} AS n "
            "WHERE n.organization_id = m.organization_id)",
            [older_than],
        )
        return cursor.rowcount
