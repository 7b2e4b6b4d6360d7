"""
Rendered parts of a page kept in the cache, keyed on everything they show.

A fragment's key is a digest of what its caller names: the organisation, the
visibility scope, the language and time zone, the day when the output depends
on it, and a fingerprint of the rows it draws (their fields, and the count and
last `computed_at` of derived rows that the engine stamps on every write). A
change to any of them is another key, so nothing is invalidated by hand and a
stale entry is simply never read again (it expires).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.db import models
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

TIMEOUT = 24 * 3600  # seconds; keys change with the data, this only bounds what is kept


def row_fingerprint(row: models.Model | None) -> tuple:
    """Every stored column of a row (None for no row): any edit makes another key."""
    if row is None:
        return ()
    return tuple(getattr(row, f.attname) for f in row._meta.concrete_fields)


def fragment_key(name: str, *, organization_id: int, vendor_id: int | None, parts) -> str:
    """The cache key of fragment `name` for this organisation, scope, language and time zone."""
    text = repr(
        (
            organization_id,
            vendor_id,
            translation.get_language(),
            timezone.get_current_timezone_name(),
            parts,
        )
    )
    return f"fragment:{name}:{organization_id}:{hashlib.sha256(text.encode()).hexdigest()}"


def cached_fragments(key: str, build: Callable[[], dict[str, str]]) -> dict[str, SafeString]:
    """The fragments stored under `key`, or `build()`'s (rendered HTML), stored."""
    found = cache.get(key)
    if found is None:
        found = build()
        cache.set(key, found, TIMEOUT)
    return {name: mark_safe(html) for name, html in found.items()}  # noqa: S308 (our own render)
