"""
Benchmark the ingestion path against a raw PostgreSQL COPY of the same rows.

    manage.py bench_ingest --rows 100000

Builds a throwaway tenant with enough SLAs, generates the CSV, runs the full
path (store, parse, validate, stage, apply with revisions) and, in the same
run, COPYs the same CSV into a scratch table. Prints rows/s for both and the
ratio. Status recomputation is not part of the path measured here (it is
enqueued after the commit; `bench_status` measures it).
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import date
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from metrics.ingest import pipeline
from slagov.bench import drop_tenant
from slagov.models import Organization

PERIODS = 50
SLAS_PER_CONTRACT = 20


class Command(BaseCommand):
    help = "Time the upload pipeline against a raw PostgreSQL COPY of the same rows."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--changed", type=float, default=0.0,
                            help="Share of rows that correct an existing value (0-1).")  # fmt: skip
        parser.add_argument("--keep", action="store_true", help="Keep the throwaway tenant.")

    @scopes_disabled()
    def handle(self, *args, rows: int, changed: float, keep: bool, **options):
        if rows < PERIODS or rows > 100_000:
            raise CommandError(f"--rows must be between {PERIODS} and 100000.")
        slas_needed = -(-rows // PERIODS)
        org, vendor, user, codes = self._tenant(slas_needed)
        try:
            first = date(2021, 1, 1)
            months = [periods.add_periods(first, "monthly", i) for i in range(PERIODS)]
            lines = ["contract,sla,period,value,note"]
            for reference, code in codes:
                for month in months:
                    if len(lines) > rows:
                        break
                    lines.append(
                        f"{reference},{code},{month:%Y-%m},{99 + (len(lines) % 97) / 100},"
                        "monthly export"  # also the reason, for rows that correct a value
                    )
            data = ("\n".join(lines) + "\n").encode()
            if changed:
                self._prefill(org, data, share=changed)
            self.stdout.write(
                f"{rows:,} rows, {len(codes):,} SLAs x {PERIODS} periods, "
                f"{len(data) / 1024 / 1024:.1f} MB CSV, database: {connection.vendor}"
            )
            # Status recomputation is enqueued after the commit; not measured here.
            with mock.patch("slagov.work.recompute_later"):
                started = time.perf_counter()
                submission = pipeline.submission_receive(
                    organization=org, actor=user, vendor=vendor, data=data,
                    filename="bench.csv", enqueue=False,
                )  # fmt: skip
                submission = pipeline.submission_validate(submission_id=submission.pk)
                if submission.state != "ready":
                    raise CommandError(f"validation failed: {submission.state}")
                validated = time.perf_counter()
                outcome = pipeline.submission_confirm(
                    organization=org, actor=user, submission=submission,
                    reasons={},
                )  # fmt: skip
                finished = time.perf_counter()
            if not outcome.ok:
                raise CommandError(outcome.message)
            pipeline_seconds = finished - started
            self.stdout.write(
                f"pipeline: {pipeline_seconds:.2f} s ({rows / pipeline_seconds:,.0f} rows/s): "
                f"receive+parse+validate+stage {validated - started:.2f} s, "
                f"apply {finished - validated:.2f} s"
            )
            if connection.vendor != "postgresql":
                self.stdout.write("raw COPY baseline: needs PostgreSQL (set DATABASE_URL).")
                return
            copy_seconds = self._copy(data)
            self.stdout.write(f"raw COPY: {copy_seconds:.2f} s ({rows / copy_seconds:,.0f} rows/s)")
            naive_seconds = self._naive(org, data)
            self.stdout.write(
                f"naive ORM bulk_create (no validation, no revisions): {naive_seconds:.2f} s "
                f"({rows / naive_seconds:,.0f} rows/s)"
            )
            self.stdout.write(
                f"ratio pipeline ÷ COPY: {copy_seconds / pipeline_seconds:.3f}x; "
                f"naive ÷ COPY: {copy_seconds / naive_seconds:.3f}x; "
                f"pipeline ÷ naive: {naive_seconds / pipeline_seconds:.2f}x"
            )
        finally:
            if not keep:
                self._drop(org)

    def _tenant(self, slas_needed: int):
        tag = uuid.uuid4().hex[:8]
        org = Organization.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
        vendor = Vendor.objects.create(organization=org, name="Bench vendor")
        user, _ = get_user_model().objects.get_or_create(username=f"bench-{tag}")
        codes = []
        contracts = -(-slas_needed // SLAS_PER_CONTRACT)
        with transaction.atomic():
            for c in range(contracts):
                contract = Contract.objects.create(
                    organization=org, vendor=vendor, reference=f"B-{c:05d}", title=f"Bench {c}",
                    category="cloud", annual_value=Decimal(120000), start_date=date(2021, 1, 1),
                    end_date=date(2030, 12, 31),
                )  # fmt: skip
                slas = ServiceLevel.objects.bulk_create(
                    ServiceLevel(organization=org, contract=contract, code=f"s{s:02d}",
                                 name=f"SLA {s}", unit="percent", direction="higher",
                                 data_start=date(2021, 1, 1))
                    for s in range(SLAS_PER_CONTRACT)
                )  # fmt: skip
                ServiceLevelTerms.objects.bulk_create(
                    ServiceLevelTerms(organization=org, service_level=sla,
                                      effective_from=date(2021, 1, 1), direction="higher",
                                      target=Decimal("99.9"), minimum=Decimal("99.5"))
                    for sla in slas
                )  # fmt: skip
                codes.extend((contract.reference, sla.code) for sla in slas)
        return org, vendor, user, codes[:slas_needed]

    def _prefill(self, org, data: bytes, *, share: float) -> None:
        """Store an older value for a share of the rows, so that they become corrections."""
        from metrics.models import Reading

        step = max(int(1 / share), 1)
        slas = {
            (s.contract.reference, s.code): s.pk
            for s in ServiceLevel.objects.filter(organization=org).select_related("contract")
        }
        batch = []
        for index, line in enumerate(data.decode().splitlines()[1:]):
            if index % step:
                continue
            reference, code, period, _value, _ = line.split(",")
            batch.append(Reading(
                organization=org, service_level_id=slas[(reference, code)],
                period_start=periods.parse_period(period, "monthly"), value=Decimal("1"),
                source="api", submitted_at="2021-01-01T00:00:00Z",
            ))  # fmt: skip
        Reading.objects.bulk_create(batch, batch_size=5000)

    def _copy(self, data: bytes) -> float:
        """COPY the same CSV into a scratch table shaped like it (a plain, logged table)."""
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_scratch")
            cursor.execute(
                "CREATE TABLE bench_copy_scratch (contract text, sla text, period text, "
                "value numeric, note text)"
            )
            try:
                started = time.perf_counter()
                with (
                    transaction.atomic(),
                    cursor.cursor.copy(
                        "COPY bench_copy_scratch FROM STDIN WITH (FORMAT csv, HEADER true)"
                    ) as copy,
                ):
                    buffer = io.BytesIO(data)
                    while chunk := buffer.read(1 << 20):
                        copy.write(chunk)
                return time.perf_counter() - started
            finally:
                cursor.execute("DROP TABLE IF EXISTS bench_copy_scratch")

    def _naive(self, org, data: bytes) -> float:
        """Parse with the csv module and bulk_create readings (then rolled back)."""
        import csv

        from metrics.models import Reading, ReadingRevision

        slas = {
            (s.contract.reference, s.code): s.pk
            for s in ServiceLevel.objects.filter(organization=org).select_related("contract")
        }
        with transaction.atomic():
            with connection.cursor() as cursor:  # make room (rolled back below)
                for table in (ReadingRevision._meta.db_table, Reading._meta.db_table):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE organization_id = %s",  # noqa: S608
                        [org.pk],
                    )
            started = time.perf_counter()
            records = list(csv.reader(io.StringIO(data.decode())))[1:]
            Reading.objects.bulk_create(
                [
                    Reading(organization=org, service_level_id=slas[(c, s)],
                            period_start=periods.parse_period(p, "monthly"),
                            value=Decimal(v), source="api", submitted_at="2021-01-01T00:00:00Z")
                    for c, s, p, v, _ in records
                ],
                batch_size=5000,
            )  # fmt: skip
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit's key checks
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed

    def _drop(self, org) -> None:
        from metrics import models as m

        drop_tenant(
            org,
            [
                m.SubmissionRow,
                m.SubmissionError,
                m.ReadingRevision,
                m.PeriodStatus,
                m.SlaHealth,
                m.Reading,
                m.Submission,
                ServiceLevelTerms,
                ServiceLevel,
                Contract,
                Vendor,
            ],
        )
