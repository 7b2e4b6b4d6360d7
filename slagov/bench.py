"""Helpers shared by the benchmark commands."""

from __future__ import annotations

from django.db import connection, transaction

from slagov.models import Organization


def drop_tenant(org: Organization, models) -> None:
    """Delete a throwaway tenant with plain SQL, children first (no signals, no cascades)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for model in models:
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE organization_id = %s",  # noqa: S608
                [org.pk],
            )
        cursor.execute(f"DELETE FROM {Organization._meta.db_table} WHERE id = %s", [org.pk])  # noqa: S608
