"""
Benchmark the escalation sweep and the outbox's claim.

    manage.py bench_escalations [--slas 20000] [--explain]

Builds a throwaway tenant whose SLAs have a realistic mix of recent status
histories (mostly green; some yellow for a while, some red, some late data,
some forecast to breach), then prints, as `name: value` lines with the load
average at the start and the end:

- `baseline_s`: one SQL pass computing every SLA's trailing runs and facts
  (`escalations.fast_facts`), the floor a sweep is compared with;
- `first_sweep_s`: the first sweep as the default setup runs it (no broker:
  sending runs in the sweep's process, here into a dummy mail backend),
  opening escalations and queueing and sending their notifications, with
  `claim_share` the part of it spent claiming outbox rows;
- `steady_sweep_s`: a second sweep, with nothing to change, and `ratio_sweep`
  (steady / baseline, goal <= 2);
- `claim_ms`: the median time to claim one notification with at least
  10,000 pending (goal <= 1), and `claim_and_load_ms` with reading what its
  e-mail shows.
"""

from __future__ import annotations

import io
import logging
import os
import random
import statistics
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from escalations import evaluate, fast_facts, notify
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
        parser.add_argument("--pending", type=int, default=10_000)
        parser.add_argument("--claims", type=int, default=200)
        parser.add_argument("--explain", action="store_true", help="print the claim's plan")
        parser.add_argument("--keep", action="store_true")

    def _line(self, name: str, value) -> None:
        self.stdout.write(f"{name}: {value}")

    def _load(self, when: str) -> None:
        self._line(f"load_{when}", " ".join(f"{x:.2f}" for x in os.getloadavg()))

    @scopes_disabled()
    def handle(self, *args, slas: int, pending: int, claims: int, explain: bool, keep: bool,
               **options):  # fmt: skip
        if connection.vendor != "postgresql":
            raise CommandError("bench_escalations measures PostgreSQL: set DATABASE_URL.")
        self._load("start")
        today = timezone.localdate()
        started = time.perf_counter()
        org, ids = self._tenant(slas, today)
        self.stdout.write(f"tenant: {len(ids):,} SLAs with {HISTORY} periods of history "
                          f"(built in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        try:
            baseline = self._baseline(org, ids, today)
            self._line("baseline_s", f"{baseline:.3f}")
            seconds, spent, counts = self._sweep(org, ids, send=True)
            self._line("first_sweep_s", f"{seconds:.2f}")
            self._line("first_sweep_counts", counts)
            for name, (count, total) in spent.items():
                self._line(f"first_sweep_{name}", f"{count} in {total:.2f} s")
            self._line("claim_share", f"{spent['claims'][1] / seconds:.2f}")
            steady, _, counts = self._sweep(org, ids, send=False)
            self._line("steady_sweep_s", f"{steady:.2f}")
            self._line("steady_sweep_counts", counts)
            self._line("ratio_sweep", f"{steady / baseline:.2f}")
            opened = Escalation.objects.filter(organization=org).count()
            self._line("escalations", opened)
            waiting = self._top_up(org, pending)
            if explain:
                self._explain()
            self._line("pending", waiting)
            times = self._claims(claims, notify._claim)
            self._line("claim_ms", f"{statistics.median(times) * 1000:.3f}")
            self._line("claim_p95_ms", f"{sorted(times)[int(len(times) * 0.95)] * 1000:.3f}")
            times = self._claims(claims, notify._claim_one)
            self._line("claim_and_load_ms", f"{statistics.median(times) * 1000:.3f}")
        finally:
            if not keep:
                self._drop(org)
            self._load("end")

    def _baseline(self, org, ids: list[int], today: date) -> float:
        """
        One SQL pass over every SLA (in the sweep's chunks): its trailing runs,
        latest colour, data gap and forecast.
        """
        started = time.perf_counter()
        for start in range(0, len(ids), evaluate.CHUNK):
            fast_facts.facts_rows(org.pk, ids[start : start + evaluate.CHUNK], evaluate.HISTORY,
                                  today)  # fmt: skip
        return time.perf_counter() - started

    def _sweep(self, org, ids: list[int], *, send: bool):
        """
        One sweep over every SLA and the missed due-bys. `send`: as the default
        setup runs it (no broker), sending in the sweep's own process.
        """
        from reviews import meetings
        from reviews import services as reviews
        from slagov.celery import app

        spent = {"claims": [0, 0.0], "renders": [0, 0.0], "meetings": [0, 0.0]}

        def timed(name, function):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    # A sweep's meetings are planned a chunk at a time: count escalations.
                    spent[name][0] += len(kwargs["escalations"]) if "escalations" in kwargs else 1
                    spent[name][1] += time.perf_counter() - started

            return wrapper

        # Where a first sweep's time goes: claiming outbox rows, rendering their
        # e-mails, planning the reviews a level that asks to meet calls.
        patched = [(notify, "_claim_one", "claims"), (notify, "render", "renders"),
                   (reviews, "review_for_escalation", "meetings"),
                   (meetings, "reviews_for_escalations", "meetings")]  # fmt: skip
        originals = [(module, name, getattr(module, name)) for module, name, _ in patched]
        for module, name, label in patched:
            setattr(module, name, timed(label, getattr(module, name)))
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = send or eager
        trace = logging.getLogger("celery.app.trace")
        level = trace.level
        trace.setLevel(logging.WARNING)  # not a line per eager task
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                started = time.perf_counter()
                if send:
                    counts = evaluate.evaluate(organization_id=org.pk, service_level_ids=ids)
                else:
                    with notify.outbox_held():
                        counts = evaluate.evaluate(organization_id=org.pk, service_level_ids=ids)
                evaluate.sweep_missed_due()
                seconds = time.perf_counter() - started
        finally:
            app.conf.task_always_eager = eager
            for module, name, original in originals:
                setattr(module, name, original)
            trace.setLevel(level)
        return seconds, spent, {k: v for k, v in counts.items() if v}

    def _top_up(self, org, pending: int) -> int:
        """At least `pending` immediate rows due in the outbox (this tenant's, dropped after)."""
        due = Notification.objects.filter(
            state=Notification.State.PENDING, delivery=Notification.Delivery.IMMEDIATE
        )
        missing = pending - due.count()
        now = timezone.now()
        payload = {"subject": "bench", "text": "bench", "html": ""}
        Notification.objects.bulk_create(
            (
                Notification(organization=org, kind=Notification.Kind.DIGEST,
                             key=f"bench:{i}", email=f"m{i}@example.com", payload=payload,
                             next_attempt_at=now)
                for i in range(max(missing, 0))
            ),
            batch_size=5000,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Notification._meta.db_table}")
        return due.count()

    def _claims(self, count: int, claim) -> list[float]:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            if claim(timezone.now()) is None:
                break
            times.append(time.perf_counter() - started)
        return times or [0.0]

    def _explain(self) -> None:
        """The claim's plan, run in a transaction rolled back."""
        now = timezone.now()
        leased = now + timedelta(seconds=settings.WORK_LEASE_SECONDS)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {notify.CLAIM_SQL}", [leased, now])
            plan = "\n  ".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        self.stdout.write(f"claim plan:\n  {plan}")

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
