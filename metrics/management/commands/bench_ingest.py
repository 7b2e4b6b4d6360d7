"""
Benchmark the upload path against writing the same rows by COPY.

    manage.py bench_ingest --rows 100000

Builds a throwaway tenant with enough SLAs, generates the CSV and runs the
whole path as an upload takes it (receive, parse, validate, stage, apply,
each in its own transaction as in production). In the same run it writes the
same rows into the real staging and reading tables by COPY, with their
constraints and the deferred foreign-key checks a commit makes, in a
transaction rolled back: the write floor. Prints `name: value` lines:

- parse_s: reading the file into a table (files.read_table);
- validate_s: the vendor's catalogue and the checks (validate.check);
- stage_s: the rest of the validation task: writing the staged rows and
  errors, and its commit (the staged rows' deferred key checks land here);
- apply_s: the confirmation, from the claim to its commit (the readings'
  deferred key checks land here);
- pipeline_s: the whole path, from receiving the bytes to the last commit;
- write_floor_s and ratio_to_write_floor = write_floor_s / pipeline_s.

The load average is printed at the start and the end. Status recomputation is
not part of the path measured here (it is enqueued after the commit;
`bench_status` measures it).
"""

from __future__ import annotations

import csv
import io
import os
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from metrics.ingest import files, pipeline, staging, validate
from slagov.bench import drop_tenant
from slagov.models import Organization

PERIODS = 50
SLAS_PER_CONTRACT = 20
# The write floor's rows are the same rows, this many years later: no key of the
# readings the upload stored is hit, and nothing needs deleting first.
FLOOR_YEARS_LATER = 100


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class _Clock:
    """Seconds spent inside the wrapped functions, by name."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timing(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def wrap(self, stack: ExitStack, owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            with self.timing(name):
                return original(*args, **kwargs)

        stack.enter_context(mock.patch.object(owner, attribute, timed))


class Command(BaseCommand):
    help = "Time the upload path against writing the same rows by COPY (the write floor)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--changed", type=float, default=0.0,
                            help="Share of rows that correct an existing value (0-1).")  # fmt: skip
        parser.add_argument("--keep", action="store_true", help="Keep the throwaway tenant.")

    @scopes_disabled()
    def handle(self, *args, rows: int, changed: float, keep: bool, **options):
        if rows < PERIODS or rows > 100_000:
            raise CommandError(f"--rows must be between {PERIODS} and 100000.")
        self.stdout.write(f"load_start: {_load()}")
        slas_needed = -(-rows // PERIODS)
        org, vendor, user, codes = self._tenant(slas_needed)
        try:
            data = self._csv(codes, rows)
            if changed:
                self._prefill(org, data, share=changed)
            self.stdout.write(
                f"{rows:,} rows, {len(codes):,} SLAs x {PERIODS} periods, "
                f"{len(data) / 1024 / 1024:.1f} MB CSV, database: {connection.vendor}"
            )
            clock, submission_id = self._pipeline(org, vendor, user, data)
            seconds = clock.seconds
            parse = seconds.get("parse", 0.0)
            checks = seconds.get("validate", 0.0)
            total = seconds["receive"] + seconds["validation task"] + seconds["confirm"]
            for name, value in (
                ("receive_s", seconds["receive"]),
                ("parse_s", parse),
                ("validate_s", checks),
                ("stage_s", seconds["validation task"] - parse - checks),
                ("apply_s", seconds["confirm"]),
                ("pipeline_s", total),
                ("rows_per_s", rows / total),
            ):
                self.stdout.write(f"{name}: {value:.3f}" if name != "rows_per_s" else
                                  f"{name}: {value:,.0f}")  # fmt: skip
            if connection.vendor != "postgresql":
                self.stdout.write("write_floor_s: needs PostgreSQL (set DATABASE_URL)")
            else:
                floor = self._write_floor(org, submission_id)
                self.stdout.write(f"write_floor_s: {floor:.3f}")
                self.stdout.write(f"ratio_to_write_floor: {floor / total:.3f}")
        finally:
            if not keep:
                self._drop(org)
            self.stdout.write(f"load_end: {_load()}")

    def _csv(self, codes, rows: int) -> bytes:
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
        return ("\n".join(lines) + "\n").encode()

    def _pipeline(self, org, vendor, user, data: bytes) -> tuple[_Clock, int]:
        """The whole upload path, each step in its own transaction as in production."""
        clock = _Clock()
        with ExitStack() as stack:
            # Status recomputation is enqueued after the commit; not measured here.
            stack.enter_context(mock.patch("slagov.work.recompute_later"))
            clock.wrap(stack, files, "read_table", "parse")
            clock.wrap(stack, validate.VendorCatalogue, "load", "validate")
            clock.wrap(stack, validate, "check", "validate")
            with clock.timing("receive"):
                submission = pipeline.submission_receive(
                    organization=org, actor=user, vendor=vendor, data=data,
                    filename="bench.csv", enqueue=False,
                )  # fmt: skip
            with clock.timing("validation task"):
                submission = pipeline.submission_validate(submission_id=submission.pk)
            if submission.state != "ready":
                raise CommandError(f"validation failed: {submission.state}")
            with clock.timing("confirm"):
                outcome = pipeline.submission_confirm(
                    organization=org, actor=user, submission=submission, reasons={}
                )
        if not outcome.ok:
            raise CommandError(outcome.message)
        return clock, submission.pk

    def _write_floor(self, org, submission_id: int) -> float:
        """
        COPY the same rows into the staging and reading tables (their indexes,
        unique constraints and foreign keys), then check the deferred keys as a
        commit would, in a transaction rolled back.
        """
        from metrics.models import Reading, SubmissionRow

        staged = list(
            SubmissionRow.objects.filter(submission_id=submission_id)
            .order_by("row_number")
            .values_list(*staging.ROW_COLUMNS)
        )
        later = [(*r[:4], r[4].replace(year=r[4].year + FLOOR_YEARS_LATER), *r[5:]) for r in staged]
        staging_csv = _csv_text(later)
        submitted_at = "2026-01-01T00:00:00+00:00"
        readings_csv = _csv_text(
            (o, sla, start, value, "upload", note, "", submitted_at, s, 1)
            for o, s, _n, sla, start, value, note, _a, _old, _c in later
        )
        reading_columns = ["organization_id", "service_level_id", "period_start", "value",
                           "source", "note", "submitted_by_id", "submitted_at",
                           "submission_id", "revision"]  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            _copy(cursor, SubmissionRow._meta.db_table, staging.ROW_COLUMNS, staging_csv, "note")
            _copy(cursor, Reading._meta.db_table, reading_columns, readings_csv, "note")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit's deferred key checks
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed

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


def _csv_text(records) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue()


def _copy(cursor, table: str, columns: list[str], text: str, not_null: str) -> None:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = (
        f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL "
        f"({connection.ops.quote_name(not_null)}))"
    )
    with cursor.cursor.copy(sql) as copy:
        copy.write(text)
