"""
Benchmark the escalation sweep.

    manage.py bench_escalations [--slas 20000]

Builds a throwaway tenant whose SLAs have a realistic mix of recent status
histories (mostly green; some yellow for a while, some red, some late data,
some forecast to breach), then times the evaluation sweep over all of them:
the first pass (opening escalations and queueing their notifications) and a
second pass (nothing changes).
"""

from __future__ import annotations

import io
import random
import time
import uuid
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from escalations import evaluate
from escalations.models import Escalation, Notification
from metrics.models import PeriodStatus, SlaHealth
from slagov.bench import drop_tenant
from slagov.models import Membership, Organization

HISTORY = 12
MIX = [  # (share, latest colours, oldest first)
    (0.80, ["green"] * HISTORY),
    (0.07, ["green"] * (HISTORY - 2) + ["yellow", "yellow"]),
    (0.05, ["green"] * (HISTORY - 3) + ["yellow", "yellow", "red"]),
    (0.03, ["green"] * (HISTORY - 2) + ["late", "late"]),
    (0.05, ["green"] * HISTORY),  # forecast to breach
]


def _pick(draw: float) -> tuple[int, list[str]]:
    total = 0.0
    for index, (share, colours) in enumerate(MIX):
        total += share
        if draw <= total:
            return index, colours
    return 0, MIX[0][1]


class Command(BaseCommand):
    help = "Time the escalation evaluation sweep over a large tenant."

    def add_arguments(self, parser):
        parser.add_argument("--slas", type=int, default=20_000)
        parser.add_argument("--keep", action="store_true")

    @scopes_disabled()
    def handle(self, *args, slas: int, keep: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_escalations measures PostgreSQL: set DATABASE_URL.")
        today = timezone.localdate()
        started = time.perf_counter()
        org, ids = self._tenant(slas, today)
        self.stdout.write(f"tenant: {len(ids):,} SLAs with {HISTORY} periods of history "
                          f"(built in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        try:
            for label in ("first sweep", "second sweep (nothing changes)"):
                started = time.perf_counter()
                counts = evaluate.evaluate(organization_id=org.pk, service_level_ids=ids)
                evaluate.sweep_missed_due()
                seconds = time.perf_counter() - started
                self.stdout.write(f"{label}: {seconds:.2f} s {counts}")
            opened = Escalation.objects.filter(organization=org).count()
            queued = Notification.objects.filter(organization=org).count()
            self.stdout.write(f"{opened:,} escalations open, {queued:,} notifications queued")
        finally:
            if not keep:
                self._drop(org)

    def _tenant(self, slas: int, today: date):
        tag = uuid.uuid4().hex[:8]
        org = Organization.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
        last = periods.last_closed_period(today, "monthly")
        months = [periods.add_periods(last, "monthly", -i) for i in range(HISTORY - 1, -1, -1)]
        rng = random.Random(3)
        with transaction.atomic():
            vendors = Vendor.objects.bulk_create(
                Vendor(organization=org, name=f"V{v}") for v in range(slas // 50 + 1)
            )
            contracts = Contract.objects.bulk_create(
                Contract(organization=org, vendor=vendors[c // 2], reference=f"E-{c:05d}",
                         title="bench", category="cloud", annual_value=Decimal(240000),
                         start_date=months[0], end_date=date(today.year + 3, 1, 1))
                for c in range(slas // 25 + 1)
            )  # fmt: skip
            service_levels = ServiceLevel.objects.bulk_create(
                ServiceLevel(organization=org, contract=contracts[i // 25], code=f"s{i}",
                             name="SLA", unit="percent", direction="higher")
                for i in range(slas)
            )  # fmt: skip
            ServiceLevelTerms.objects.bulk_create(
                ServiceLevelTerms(organization=org, service_level=s, effective_from=months[0],
                                  direction="higher", target=Decimal("99.9"),
                                  minimum=Decimal("99.5"))
                for s in service_levels
            )  # fmt: skip
            user_ids = []
            for role in ("leadership", "account_manager"):
                from django.contrib.auth import get_user_model

                user = get_user_model().objects.create(
                    username=f"{role}-{tag}", email=f"{role}-{tag}@example.com"
                )
                Membership.objects.create(organization=org, user=user, role=role)
                user_ids.append(user.pk)
            Contract.objects.filter(organization=org).update(owner_id=user_ids[1])
            statuses, healths = io.StringIO(), []
            now = timezone.now().isoformat()
            for sla in service_levels:
                index, colours = _pick(rng.random())
                for month, colour in zip(months, colours, strict=True):
                    value = "\\N" if colour == "late" else {"green": "99.95", "yellow": "99.7",
                                                            "red": "99.2"}[colour]  # fmt: skip
                    statuses.write(f"{org.pk}\t{sla.pk}\t{month}\t{colour}\t{value}\t99.9\t99.5"
                                   f"\t0\t0\t{now}\n")  # fmt: skip
                healths.append(SlaHealth(
                    organization=org, service_level=sla, latest_period=months[-1],
                    colour=colours[-1], enough_data=True, points=HISTORY,
                    periods_to_breach=1 if index == 4 else None, computed_at=timezone.now(),
                ))  # fmt: skip
            columns = ("organization_id, service_level_id, period_start, colour, value, target, "
                       "minimum, credit_percent, credit_amount, computed_at")  # fmt: skip
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    f"COPY {PeriodStatus._meta.db_table} ({columns}) FROM STDIN"
                ) as copy,
            ):
                copy.write(statuses.getvalue())
            SlaHealth.objects.bulk_create(healths, batch_size=5000)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {PeriodStatus._meta.db_table}")
        return org, [s.pk for s in service_levels]

    def _drop(self, org) -> None:
        from escalations import models as e
        from reviews import models as r

        drop_tenant(
            org,
            [
                e.Notification,
                # Reviews the escalations called (a meeting due), and what hangs off them.
                r.ActionItemEvent,
                r.ActionItem,
                r.AgendaItem,
                r.ReviewAttendee,
                r.ReviewEvent,
                r.ReviewSignature,
                r.Review,
                e.ForecastEpisode,
                e.EscalationEvent,
                e.Escalation,
                e.EscalationStep,
                e.EscalationPolicy,
                PeriodStatus,
                SlaHealth,
                ServiceLevelTerms,
                ServiceLevel,
                Contract,
                Vendor,
                Membership,
            ],
        )
