"""How many rows have errors: structural problems of the file and problems of values alike."""

from __future__ import annotations

import pytest

from metrics.ingest import pipeline
from metrics.models import Submission
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]


def receive(w, text: bytes, name: str = "readings.csv") -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=text,
        filename=name, enqueue=False,
    )  # fmt: skip
    return pipeline.submission_validate(submission_id=submission.pk, today=TODAY)


def test_rows_with_errors_counts_rows_with_too_many_fields_and_bad_values(w):
    submission = receive(
        w,
        b"contract,sla,period,value\n"
        b"CORP-1,avail,2026-10,abc\n"  # row 2: not a number
        b"CORP-1,avail,2026-09,99,extra\n"  # row 3: too many fields
        b"CORP-1,p1-res,2024-05,-1\n"  # row 4: two problems, one row
        b"CORP-1,avail,2026-08,99.9\n"  # row 5: fine
        b"CORP-1,avail,2026-07,99,x,y\n",  # row 6: too many fields
    )
    assert submission.state == Submission.State.INVALID
    assert (submission.error_count, submission.rows_with_errors) == (5, 4)


def test_file_level_problems_have_no_row_and_header_problems_are_on_row_1(w):
    unreadable = receive(w, b"", "empty.csv")
    assert (unreadable.error_count, unreadable.rows_with_errors) == (1, 0)
    missing = receive(w, b"contract,sla,period\nCORP-1,avail,2026-10\n")
    assert (missing.error_count, missing.rows_with_errors) == (1, 1)  # the header row
    twice = receive(w, b"contract,sla,period,value,Value\nCORP-1,avail,2026-10,1,2\n")
    assert (twice.error_count, twice.rows_with_errors) == (1, 1)  # the header row
