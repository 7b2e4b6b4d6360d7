"""
Benchmark the status engine on a large tenant.

    manage.py bench_status [--slas 20000] [--periods 50]

Generates a throwaway tenant (vendors of 50 SLAs each, every SLA with 50
monthly readings), then times, in the same run:

- the full recompute (period statuses, health and trends of every SLA);
- the same full recompute again (nothing changes: nothing is written);
- the baseline: one plain SQL window pass over the same readings (last value
  and slope per SLA);
- an incremental recompute after one vendor's upload (its SLAs' latest period).
"""

from __future__ import annotations

import io
import random
import statistics
import time
import uuid
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, CreditTier, ServiceLevel, ServiceLevelTerms, Vendor
from metrics import engine
from metrics.models import PeriodStatus, Reading, SlaHealth
from slagov.bench import drop_tenant
from slagov.models import Organization

SLAS_PER_VENDOR = 50
SLAS_PER_CONTRACT = 25

BASELINE = """
SELECT DISTINCT ON (service_level_id) service_level_id, value AS last_value,
       regr_slope(value::float8, (period_start - DATE '2000-01-01')::float8)
           OVER (PARTITION BY service_level_id) AS slope
FROM metrics_reading
WHERE organization_id = %s
ORDER BY service_level_id, period_start DESC
"""


class Command(BaseCommand):
    help = "Time a full and an incremental status recompute against a plain SQL window pass."

    def add_arguments(self, parser):
        parser.add_argument("--slas", type=int, default=20_000)
        parser.add_argument("--periods", type=int, default=50)
        parser.add_argument("--keep", action="store_true", help="Keep the throwaway tenant.")

    @scopes_disabled()
    def handle(self, *args, slas: int, periods: int, keep: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_status measures PostgreSQL: set DATABASE_URL=postgres://…")
        if slas < SLAS_PER_VENDOR or periods < 6:
            raise CommandError(f"--slas must be at least {SLAS_PER_VENDOR}, --periods at least 6")
        today = timezone.localdate()
        started = time.perf_counter()
        org, vendors, ids, months = self._tenant(slas, periods, today)
        self.stdout.write(
            f"tenant: {len(ids):,} SLAs x {periods} monthly periods = {len(ids) * periods:,} "
            f"readings, {len(vendors)} vendors (built in {time.perf_counter() - started:.1f} s)"
        )
        try:
            full = self._timed(lambda: engine.recompute(
                organization_id=org.pk, service_level_ids=ids, today=today))  # fmt: skip
            rows = PeriodStatus.objects.filter(organization=org).count()
            trends = SlaHealth.objects.filter(organization=org).count()
            self.stdout.write(
                f"full recompute: {full:.2f} s ({rows:,} statuses, {trends:,} trends)"
            )
            again = self._timed(lambda: engine.recompute(
                organization_id=org.pk, service_level_ids=ids, today=today))  # fmt: skip
            self.stdout.write(f"full recompute again (nothing to change): {again:.2f} s")
            baseline = self._baseline(org)
            self.stdout.write(
                f"baseline, one SQL window pass (last value + slope per SLA): {baseline:.2f} s"
            )
            self.stdout.write(f"ratio full recompute / baseline: {full / baseline:.1f}x")
            self.stdout.write(self._incremental(org, vendors, months[-1], today))
        finally:
            if not keep:
                self._drop(org)

    @staticmethod
    def _timed(work) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    def _baseline(self, org) -> float:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE, [org.pk])
            cursor.fetchall()
            return time.perf_counter() - started

    def _incremental(self, org, vendors, last_month: date, today: date) -> str:
        """One vendor uploads its latest month again with new values: recompute those."""
        rng = random.Random(5)
        timings = []
        for vendor in rng.sample(vendors, min(5, len(vendors))):
            sla_ids = list(ServiceLevel.objects.filter(contract__vendor=vendor)
                           .values_list("pk", flat=True))  # fmt: skip
            latest = Reading.objects.filter(service_level_id__in=sla_ids, period_start=last_month)
            latest.update(value=Decimal("97.25"))
            pairs = [(pk, last_month) for pk in sla_ids]
            timings.append(self._timed(lambda ids=sla_ids, p=pairs: engine.recompute(
                organization_id=org.pk, service_level_ids=ids,
                scope=engine.Scope.of_pairs(p), today=today)))  # fmt: skip
        ms = [t * 1000 for t in timings]
        return (
            f"incremental recompute after one vendor's upload ({SLAS_PER_VENDOR} SLAs): "
            f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, "
            f"{len(ms)} vendors)"
        )

    def _tenant(self, slas: int, n_periods: int, today: date):
        tag = uuid.uuid4().hex[:8]
        org = Organization.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
        last = periods.last_closed_period(today, "monthly")
        months = [periods.add_periods(last, "monthly", -i) for i in range(n_periods - 1, -1, -1)]
        start = months[0]
        vendors, ids = [], []
        with transaction.atomic():
            vendor_count = -(-slas // SLAS_PER_VENDOR)
            vendors = Vendor.objects.bulk_create(
                Vendor(organization=org, name=f"Vendor {v:04d}") for v in range(vendor_count)
            )
            contracts = Contract.objects.bulk_create(
                Contract(organization=org, vendor=vendor, reference=f"B-{v:04d}-{c}",
                         title=f"Bench {v}/{c}", category="cloud",
                         annual_value=Decimal(240000), start_date=start,
                         end_date=date(today.year + 3, 12, 31))
                for v, vendor in enumerate(vendors)
                for c in range(SLAS_PER_VENDOR // SLAS_PER_CONTRACT)
            )  # fmt: skip
            service_levels = ServiceLevel.objects.bulk_create(
                ServiceLevel(organization=org, contract=contract, code=f"s{s:02d}",
                             name=f"SLA {s}", unit="percent", direction="higher",
                             kind="kpi" if s % 5 == 4 else "sla", data_start=start)
                for contract in contracts for s in range(SLAS_PER_CONTRACT)
            )[:slas]  # fmt: skip
            terms = ServiceLevelTerms.objects.bulk_create(
                ServiceLevelTerms(organization=org, service_level=sla, effective_from=start,
                                  direction="higher", target=Decimal("99.9"),
                                  minimum=Decimal("99.5"),
                                  improvement="absolute" if i % 3 == 0 else "none",
                                  improvement_rate=Decimal("0.01") if i % 3 == 0 else 0,
                                  improvement_bound=Decimal("99.95") if i % 3 == 0 else None)
                for i, sla in enumerate(service_levels)
            )  # fmt: skip
            CreditTier.objects.bulk_create(
                CreditTier(organization=org, terms=t, worse_than=Decimal(level),
                           percent=Decimal(pct))
                for t, sla in zip(terms, service_levels, strict=True) if sla.kind == "sla"
                for level, pct in (("99.9", "5"), ("99.5", "10"))
            )  # fmt: skip
            ids = [sla.pk for sla in service_levels]
            rng = random.Random(1)
            buffer = io.StringIO()
            now = timezone.now().isoformat()
            for pk in ids:
                for month in months:
                    value = min(100.0, round(rng.gauss(99.9, 0.15), 3))
                    buffer.write(f"{org.pk}\t{pk}\t{month}\t{value}\tdemo\t\t{now}\t1\n")
            columns = ("organization_id, service_level_id, period_start, value, source, note, "
                       "submitted_at, revision")  # fmt: skip
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {Reading._meta.db_table} ({columns}) FROM STDIN") as copy,
            ):
                copy.write(buffer.getvalue())
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Reading._meta.db_table}")
        return org, vendors, ids, months

    def _drop(self, org) -> None:
        from metrics import models as m

        drop_tenant(
            org,
            [
                m.PeriodStatus,
                m.SlaHealth,
                m.Reading,
                CreditTier,
                ServiceLevelTerms,
                ServiceLevel,
                Contract,
                Vendor,
            ],
        )
