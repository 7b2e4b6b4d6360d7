"""Helpers shared by the benchmark commands."""

from __future__ import annotations

from django.db import connection, transaction

from slagov.models import Organization, PendingWork


def drop_tenant(org: Organization, models) -> None:
    """
    Delete a throwaway tenant with plain SQL, children first (no signals, no
    cascades): `models` in order, after the default escalation policy every
    organisation is created with (unless `models` places it), then its
    recorded work.
    """
    from escalations.models import EscalationPolicy, EscalationStep

    first = [m for m in (EscalationStep, EscalationPolicy) if m not in models]
    last = [m for m in (PendingWork,) if m not in models]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in [*first, *models, *last]:
            for field in model._meta.many_to_many:  # their link tables, which carry no tenant
                through = field.remote_field.through
                if through._meta.auto_created:
                    column = field.m2m_column_name()
                    cursor.execute(
                        f"DELETE FROM {through._meta.db_table} WHERE {column} IN "  # noqa: S608
                        f"(SELECT id FROM {model._meta.db_table} WHERE organization_id = %s)",
                        [org.pk],
                    )
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE organization_id = %s",  # noqa: S608
                [org.pk],
            )
        cursor.execute(f"DELETE FROM {Organization._meta.db_table} WHERE id = %s", [org.pk])  # noqa: S608
