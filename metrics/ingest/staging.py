"""
Staging validated rows and applying them, set-based.

On PostgreSQL rows are staged with COPY; applying is three SQL statements
(revisions of changed readings, update changed, insert new) over the staged
rows, so the cost grows with the rows, not with round trips. SQLite (the
embedded default) runs the same statements after a bulk insert.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection

from metrics.ingest.files import Problem
from metrics.models import Reading, ReadingRevision, SubmissionError, SubmissionRow
from slagov.tenancy import in_tenant_scope

ROW_COLUMNS = ["organization_id", "submission_id", "row_number", "service_level_id",
               "period_start", "value", "note", "action", "old_value", "colour"]  # fmt: skip
ERROR_COLUMNS = ["organization_id", "submission_id", "row_number", "column", "value", "message",
                 "service_level_id"]  # fmt: skip


def _copy(table: str, columns: list[str], records: Iterable[tuple], *, text: list[str]) -> None:
    """
    COPY rows in CSV form: written by the csv module in C, sent in one stream.
    An empty cell is NULL, except in the `text` columns, where it is "".
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    _copy_text(table, columns, buffer.getvalue(), text_columns=text)


def _quoted(texts) -> list[str]:
    return ['"' + t.replace('"', '""') + '"' for t in texts]


def _rows_csv(rows: pd.DataFrame, organization_id: int, submission_id: int) -> str:
    """
    The staged rows as COPY's CSV, a column at a time (numbers and dates by numpy, the
    note always quoted): what the csv module writes for them, without a call per cell.
    """
    n = len(rows)
    columns = [
        [str(organization_id)] * n,
        [str(submission_id)] * n,
        rows["row"].to_numpy(dtype=np.int64).astype(str).tolist(),
        rows["service_level_id"].to_numpy(dtype=np.int64).astype(str).tolist(),
        np.array(rows["period_start"].tolist(), dtype="datetime64[D]").astype(str).tolist(),
        [str(v) for v in rows["value"]],
        _quoted(rows["note"]),
        rows["action"].tolist(),
        ["" if v is None else str(v) for v in rows["old_value"]],
        rows["colour"].tolist(),
    ]
    return "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


def _copy_text(table: str, columns: list[str], text: str, *, text_columns: list[str]) -> None:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    not_null = ", ".join(connection.ops.quote_name(c) for c in text_columns)
    sql = f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({not_null}))"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(text)


def durable_enough() -> None:
    """
    Staged rows can always be recomputed from the stored file: if a crash lost
    this transaction, the submission would still be waiting and the task,
    acknowledged late, would validate it again. So this transaction need not
    wait for its WAL to reach the disk (PostgreSQL only).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@in_tenant_scope
def stage(
    *, organization_id: int, submission_id: int, rows: pd.DataFrame, problems: list[Problem]
) -> None:
    """
    Replace the staged rows and errors of a submission (re-validation is
    idempotent). A reason given for a changed value stays with its SLA and
    period: validating again keeps what was typed.
    """
    rows = _keep_reasons(rows, submission_id)
    SubmissionRow.objects.filter(submission_id=submission_id).delete()
    SubmissionError.objects.filter(submission_id=submission_id).delete()
    row_records = zip(
        [organization_id] * len(rows),
        [submission_id] * len(rows),
        rows["row"].astype(int).tolist(),
        rows["service_level_id"].astype(int).tolist(),
        rows["period_start"],
        rows["value"],
        rows["note"],
        rows["action"],
        rows["old_value"],
        rows["colour"],
        strict=True,
    )
    error_records = [
        (
            organization_id,
            submission_id,
            p.row,
            p.column[:60],
            p.value[:200],
            p.message[:500],
            p.sla_id,
        )
        for p in problems
    ]
    if connection.vendor == "postgresql":
        if len(rows):
            staged = _rows_csv(rows, organization_id, submission_id)
            _copy_text(SubmissionRow._meta.db_table, ROW_COLUMNS, staged, text_columns=["note"])
        _copy(SubmissionError._meta.db_table, ERROR_COLUMNS, error_records,
              text=["column", "value", "message"])  # fmt: skip
        return
    SubmissionRow.objects.bulk_create(
        (SubmissionRow(**dict(zip(ROW_COLUMNS, r, strict=True))) for r in row_records),
        batch_size=2000,
    )
    SubmissionError.objects.bulk_create(
        (SubmissionError(**dict(zip(ERROR_COLUMNS, r, strict=True))) for r in error_records),
        batch_size=2000,
    )


def _keep_reasons(rows: pd.DataFrame, submission_id: int) -> pd.DataFrame:
    """Changed rows take the reason their SLA and period had in the rows staged before."""
    reasons = {
        (sla_id, start): note
        for sla_id, start, note in SubmissionRow.objects.filter(
            submission_id=submission_id, action="changed"
        )
        .exclude(note="")
        .values_list("service_level_id", "period_start", "note")
    }
    if not reasons or rows.empty:
        return rows
    keys = zip(rows["service_level_id"].astype(int).tolist(), rows["period_start"], strict=True)
    rows = rows.copy()
    rows["note"] = [
        reasons.get(key, note) if action == "changed" else note
        for key, note, action in zip(keys, rows["note"], rows["action"], strict=True)
    ]
    return rows


_READING = Reading._meta.db_table
_REVISION = ReadingRevision._meta.db_table
_ROW = SubmissionRow._meta.db_table
_SAME_READING = (
    "r.organization_id = sr.organization_id AND r.service_level_id = sr.service_level_id "
    "AND r.period_start = sr.period_start"
)


def stale_rows(submission_id: int) -> int:
    """Staged rows whose reading changed since the preview was computed."""
    sql = f"""
        SELECT COUNT(*) FROM {_ROW} sr
        LEFT JOIN {_READING} r ON {_SAME_READING}
        WHERE sr.submission_id = %s AND (
            (sr.action = 'new' AND r.id IS NOT NULL)
            OR (sr.action <> 'new' AND (r.id IS NULL OR r.value <> sr.old_value))
        )
    """  # noqa: S608 (table names are ours; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [submission_id])
        return cursor.fetchone()[0]


def apply(*, submission_id: int, actor_id: int | None, source: str, now: datetime) -> int:
    """Write the staged rows (call inside a transaction): revisions, updates, inserts."""
    revisions = f"""
        INSERT INTO {_REVISION} (organization_id, reading_id, revision, value, source, note,
            submitted_by_id, submitted_at, superseded_at, superseded_by_id, reason,
            submission_id, replaced_by_submission_id)
        SELECT r.organization_id, r.id, r.revision, r.value, r.source, r.note,
            r.submitted_by_id, r.submitted_at, %s, %s, sr.note, r.submission_id, %s
        FROM {_ROW} sr JOIN {_READING} r ON {_SAME_READING}
        WHERE sr.submission_id = %s AND sr.action = 'changed'
    """  # noqa: S608
    update = f"""
        UPDATE {_READING} SET value = sr.value, revision = {_READING}.revision + 1, source = %s,
            note = sr.note, submitted_by_id = %s, submitted_at = %s, submission_id = %s
        FROM {_ROW} sr
        WHERE sr.submission_id = %s AND sr.action = 'changed'
          AND {_READING}.organization_id = sr.organization_id
          AND {_READING}.service_level_id = sr.service_level_id
          AND {_READING}.period_start = sr.period_start
    """  # noqa: S608
    insert = f"""
        INSERT INTO {_READING} (organization_id, service_level_id, period_start, value, source,
            note, submitted_by_id, submitted_at, submission_id, revision)
        SELECT organization_id, service_level_id, period_start, value, %s, note, %s, %s, %s, 1
        FROM {_ROW} WHERE submission_id = %s AND action = 'new'
    """  # noqa: S608
    now = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(revisions, [now, actor_id, submission_id, submission_id])
        cursor.execute(update, [source, actor_id, now, submission_id, submission_id])
        changed = cursor.rowcount
        cursor.execute(insert, [source, actor_id, now, submission_id, submission_id])
        return changed + cursor.rowcount
