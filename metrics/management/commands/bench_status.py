"""
Benchmark the status engine on a large tenant.

    manage.py bench_status [--slas 20000] [--periods 50]

Generates a throwaway tenant (vendors of 50 SLAs each, every SLA with 50
monthly readings), then times, in the same run, and prints one `name: value`
line each, with the load average at the start and the end:

- `full_s`: the full recompute (period statuses, health and trends of every SLA);
- `write_floor_s`: writing the same status rows into a same-shaped table
  (`CREATE TABLE … (LIKE metrics_periodstatus INCLUDING ALL)`, `INSERT … SELECT`);
  `ratio_full` is full / write floor;
- `sql_pass_s`: one plain SQL window pass over the same readings (last value
  and slope per SLA);
- `repeat_s`: the same full recompute again (nothing changed: nothing is
  written, nothing refitted); `ratio_repeat` is repeat / SQL pass;
- `hourly_refresh_s`: the scheduled refresh of the tenant, nothing due;
- `incremental_ms`: the median recompute after one vendor's upload (its SLAs'
  latest period);
- `cost_per_sla_ms` (full recompute) and `peak_rss_mb` (this process).
"""

from __future__ import annotations

import io
import os
import random
import resource
import statistics
import time
import uuid
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, CreditTier, ServiceLevel, ServiceLevelTerms, Vendor
from metrics import engine
from metrics.models import PeriodStatus, Reading, SlaHealth
from metrics.services import statuses_refresh
from slagov.bench import drop_tenant
from slagov.jobs import JobReport
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
        self._line("load_start", self._load())
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
            self.stdout.write(f"full recompute: {rows:,} statuses, {trends:,} trends")
            floor = self._write_floor(org)
            self._line("write_floor_s", f"{floor:.2f}")
            self._line("full_s", f"{full:.2f}")
            self._line("ratio_full", f"{full / floor:.2f}")
            baseline = self._baseline(org)
            self._line("sql_pass_s", f"{baseline:.2f}")
            with CaptureQueriesContext(connection) as queries:
                again = self._timed(lambda: engine.recompute(
                    organization_id=org.pk, service_level_ids=ids, today=today))  # fmt: skip
            self._line("repeat_s", f"{again:.2f}")
            self._line("repeat_queries", len(queries))
            self._line("ratio_repeat", f"{again / baseline:.2f}")
            report = JobReport()
            hourly = self._timed(lambda: statuses_refresh(
                organization=org, report=report, today=today))  # fmt: skip
            self._line("hourly_refresh_s", f"{hourly:.3f}")
            self._line("hourly_refresh_rows", report.done)
            self._line("incremental_ms", self._incremental(org, vendors, months[-1], today))
            self._line("cost_per_sla_ms", f"{full * 1000 / len(ids):.3f}")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            self._line("peak_rss_mb", f"{peak:.0f}")
        finally:
            if not keep:
                self._drop(org)
            self._line("load_end", self._load())

    def _line(self, name: str, value) -> None:
        self.stdout.write(f"{name}: {value}")

    @staticmethod
    def _load() -> str:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())

    def _write_floor(self, org) -> float:
        """Write the tenant's status rows into a same-shaped table, as the engine commits them."""
        table = f"bench_floor_{org.pk}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {PeriodStatus._meta.db_table} INCLUDING ALL)"
            )
            try:
                started = time.perf_counter()
                with transaction.atomic():
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    cursor.execute(
                        f"INSERT INTO {table} SELECT * FROM {PeriodStatus._meta.db_table} "  # noqa: S608
                        "WHERE organization_id = %s",
                        [org.pk],
                    )
                return time.perf_counter() - started
            finally:
                cursor.execute(f"DROP TABLE {table}")

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
            f"{statistics.median(ms):.0f} (min {min(ms):.0f}, max {max(ms):.0f}; "
            f"{len(ms)} vendors of {SLAS_PER_VENDOR} SLAs)"
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
            now = timezone.now().isoformat()
            columns = ("organization_id, service_level_id, period_start, value, source, note, "
                       "submitted_at, revision")  # fmt: skip
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {Reading._meta.db_table} ({columns}) FROM STDIN") as copy,
            ):
                # A thousand SLAs at a time: memory stays flat at 100,000 SLAs.
                for start in range(0, len(ids), 1000):
                    buffer = io.StringIO()
                    for pk in ids[start : start + 1000]:
                        for month in months:
                            value = min(100.0, round(rng.gauss(99.9, 0.15), 3))
                            buffer.write(f"{org.pk}\t{pk}\t{month}\t{value}\tdemo\t\t{now}\t1\n")
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
