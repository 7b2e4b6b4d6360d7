"""
Uploads on a real Celery worker (Redis, and PostgreSQL in CI): a hostile
workbook never takes the worker down, and a submission whose worker was
killed while reading it is recovered instead of "Validating…" for ever.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from metrics.ingest import pipeline, worst_cases
from metrics.models import Submission
from tests import ingest_world
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp, worker  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CSV = b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n"


def _receive(w, data: bytes, name: str) -> Submission:
    return pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=data, filename=name
    )


def _state(submission) -> str:
    with scopes_disabled():
        return Submission.objects.get(pk=submission.pk).state


def test_a_workbook_that_killed_its_reader_is_refused_and_the_worker_reads_the_next_file(
    worker,  # noqa: F811 (the fixture imported above)
):
    process, log = worker()
    w = ingest_world.build()
    (far,) = worst_cases.cases(["value_at_xfd1048576"])
    hostile = _receive(w, far.data, "far.xlsx")
    _wait_for(lambda: _state(hostile) == "invalid", 60, "the hostile file refused", log)
    with scopes_disabled():
        assert "Cell XFD1048576" in hostile.errors.get().message
    assert process.poll() is None, "the worker is still running"
    honest = _receive(w, CSV, "october.csv")
    _wait_for(lambda: _state(honest) == "ready", 60, "the next file validated", log)


def test_a_submission_whose_worker_was_killed_while_reading_is_recovered(
    worker,  # noqa: F811 (the fixture imported above)
):
    process, log = worker("doomed")
    w = ingest_world.build()
    # Cells without references go to the reference reader: a few seconds of work.
    body = [b"<row>" + b"".join(
        f'<c t="inlineStr"><is><t>{h}</t></is></c>'.encode()
        for h in ("contract", "sla", "period", "value")
    ) + b"</row>"]  # fmt: skip
    body += [
        b'<row><c t="inlineStr"><is><t>CORP-1</t></is></c><c t="inlineStr"><is><t>avail</t>'
        b'</is></c><c t="inlineStr"><is><t>2026-10</t></is></c><c><v>%d</v></c></row>' % n
        for n in range(90_000)
    ]
    slow = _receive(w, worst_cases.xlsx(body), "slow.xlsx")
    _wait_for(lambda: _state(slow) == "validating", 60, "validation started", log)
    # The whole worker dies, as on a host crash: main process and pool together.
    os.killpg(os.getpgid(process.pid), signal.SIGKILL)
    process.wait(10)
    time.sleep(0.5)
    assert _state(slow) == "validating"
    _, log = worker("rescuer")
    later = timezone.now() + pipeline.lost_after() + timedelta(seconds=60)
    assert pipeline.submissions_recover_all(now=later) == 1
    _wait_for(lambda: _state(slow) in {"invalid", "ready"}, 120, "validated again", log)
    with scopes_disabled():
        again = Submission.objects.get(pk=slow.pk)
    assert again.attempts == 2
    # 90,000 rows for one SLA and period: the file is read; its rows are duplicates.
    assert again.rows_total == 90_000
