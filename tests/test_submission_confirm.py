"""Confirming a submission: the reasons given for changed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from metrics import services
from metrics.ingest import pipeline
from metrics.models import Reading, Submission, SubmissionRow
from slagov import work
from slagov.models import PendingWork
from tests import factories
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
FIRST = "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\nCORP-1,p1-res,2026-10,3\n"
FIRST += "CORP-1,csat,2026-10,4.5\n"
SECOND = (
    "contract,sla,period,value,note\n"
    "CORP-1,avail,2026-10,99.4,\n"
    "CORP-1,p1-res,2026-10,5,from the file\n"
    "CORP-1,csat,2026-10,4.1,\n"
    "CORP-1,backlog,2026-W44,120,weekly count\n"
)


def receive(w, text: str) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=text.encode(),
        filename="readings.csv", enqueue=False,
    )  # fmt: skip
    return pipeline.submission_validate(submission_id=submission.pk, today=TODAY)


def confirm(w, submission, reasons=None):
    return pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=submission, reasons=reasons
    )


def notes(w) -> dict[str, str]:
    with scopes_disabled():
        readings = Reading.objects.filter(organization=w.org).select_related("service_level")
        return {r.service_level.code: r.note for r in readings}


def row_updates(queries) -> int:
    table = connection.ops.quote_name(SubmissionRow._meta.db_table)
    return sum(q["sql"].startswith(f"UPDATE {table}") for q in queries.captured_queries)


def test_reasons_are_stripped_cut_to_500_and_given_to_changed_rows_only(w):
    assert confirm(w, receive(w, FIRST)).ok
    second = receive(w, SECOND)
    assert (second.rows_changed, second.rows_new) == (3, 1)
    reasons = {
        2: "  probe fixed \n",
        3: "   ",  # blank: the note from the file stays
        4: "x" * 600,
        5: "not for a new row",
        99: "no such row",
    }
    with CaptureQueriesContext(connection) as queries:
        outcome = confirm(w, second, reasons)
    assert outcome.ok, outcome.message
    assert row_updates(queries) == 1
    assert notes(w) == {
        "avail": "probe fixed",
        "p1-res": "from the file",
        "csat": "x" * 500,
        "backlog": "weekly count",
    }
    with scopes_disabled():
        reasons_kept = sorted(
            r.reason for r in Reading.objects.get(service_level=w.slas["avail"]).revisions.all()
        )
    assert reasons_kept == ["probe fixed"]


def test_blank_reasons_leave_changed_rows_without_one(w):
    assert confirm(w, receive(w, FIRST)).ok
    second = receive(w, SECOND)
    with CaptureQueriesContext(connection) as queries:
        refused = confirm(w, second, {2: " ", 4: "\t"})
    assert not refused.ok
    assert refused.message == "Give a reason for every changed value (rows 2, 4)."
    assert row_updates(queries) == 0
    refused = confirm(w, second, {2: "probe fixed"})
    assert refused.message == "Give a reason for every changed value (rows 4)."
    with scopes_disabled():
        staged = SubmissionRow.objects.filter(submission=second)
        # The reason given is kept for the next try; row 4 still has none.
        notes = set(staged.values_list("note", flat=True))
        assert notes == {"", "from the file", "weekly count", "probe fixed"}


def test_readings_carry_the_source_of_their_submission(w):
    assert set(Submission.Source.values) <= set(Reading.Source.values)
    uploaded = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    assert confirm(w, uploaded).ok
    sent = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, filename="rows.json",
        data=b'{"rows": [{"contract": "CORP-1", "sla": "csat", "period": "2026-10", "value": 4}]}',
        source=Submission.Source.API, enqueue=False,
    )  # fmt: skip
    assert confirm(w, pipeline.submission_validate(submission_id=sent.pk, today=TODAY)).ok
    with scopes_disabled():
        sources = {
            r.service_level.code: r.source
            for r in Reading.objects.filter(organization=w.org).select_related("service_level")
        }
    assert sources == {"avail": Reading.Source.UPLOAD, "csat": Reading.Source.API}


def test_applying_refreshes_exactly_the_slas_and_periods_it_changed(
    w, django_capture_on_commit_callbacks
):
    assert confirm(w, receive(w, FIRST)).ok
    PendingWork.objects.all().delete()  # the first file's recompute
    second = receive(w, SECOND.replace("CORP-1,csat,2026-10,4.1,\n", "CORP-1,csat,2026-10,4.5,\n"))
    with (
        mock.patch("slagov.tasks.run_work.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert confirm(w, second, {2: "probe fixed"}).ok
    slas = w.slas
    pairs = sorted([
        [slas["avail"].pk, "2026-10-01"], [slas["p1-res"].pk, "2026-10-01"],
        [slas["backlog"].pk, "2026-10-26"],
    ])  # fmt: skip
    (recorded,) = PendingWork.objects.filter(organization=w.org, kind="recompute")
    assert recorded.arguments == {"service_level_ids": sorted({s for s, _ in pairs}),
                                  "pairs": pairs}  # fmt: skip
    delay.assert_called_once_with(recorded.pk)


def test_recording_one_reading_refreshes_its_period(w, django_capture_on_commit_callbacks):
    sla = w.slas["avail"]
    with (
        mock.patch("slagov.tasks.run_work.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
        scopes_disabled(),
    ):
        services.reading_record(
            organization=w.org, actor=w.manager, service_level=sla,
            period_start=date(2026, 10, 17), value=Decimal("99.9"), source="manual",
        )  # fmt: skip
    (recorded,) = PendingWork.objects.filter(organization=w.org)
    assert recorded.arguments == {"service_level_ids": [sla.pk], "pairs": [[sla.pk, "2026-10-01"]]}
    delay.assert_called_once_with(recorded.pk)


def test_a_recompute_without_pairs_or_slas_is_not_queued(django_capture_on_commit_callbacks):
    org = factories.OrganizationFactory()
    with (
        mock.patch("slagov.tasks.run_work.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        work.recompute_later(organization_id=org.pk, pairs=[])
        work.recompute_later(organization_id=org.pk, service_level_ids=[])
        work.recompute_later(
            organization_id=org.pk, service_level_ids=[3, 2, 3], since=date(2026, 1, 1)
        )
    (recorded,) = PendingWork.objects.filter(organization=org)
    assert recorded.arguments == {"service_level_ids": [2, 3], "since": "2026-01-01"}
    delay.assert_called_once_with(recorded.pk)
