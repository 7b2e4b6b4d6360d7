"""
A submission never polls for ever: lost workers are recovered, attempts are
bounded, and an uploader can try again or discard it from the page.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from metrics.ingest import pipeline, validate, worst_cases
from metrics.models import Reading, Submission, SubmissionRow
from slagov.models import Membership
from tests import factories
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
CSV = b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n"


def _received(w, data: bytes = CSV, name: str = "october.csv") -> Submission:
    return pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=data, filename=name,
        enqueue=False,
    )  # fmt: skip


def _reload(submission) -> Submission:
    with scopes_disabled():
        return Submission.objects.get(pk=submission.pk)


def _page(client, w, submission):
    return client.get(reverse("metrics:submission", args=[w.org.slug, submission.pk]))


def _lost(submission, *, attempts: int, minutes: int = 11) -> None:
    """As a worker leaves it when it dies while reading the file."""
    with scopes_disabled():
        Submission.objects.filter(pk=submission.pk).update(
            state=Submission.State.VALIDATING,
            attempts=attempts,
            claimed_at=timezone.now() - timedelta(minutes=minutes),
        )


def test_a_redelivered_submission_whose_workers_keep_dying_fails_after_three_attempts(w):
    submission = _received(w)
    _lost(submission, attempts=Submission.MAX_ATTEMPTS, minutes=0)
    result = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    assert result.state == "failed"
    assert "started 3 times and never finished" in result.failure
    with scopes_disabled():
        assert not SubmissionRow.objects.filter(submission=submission).exists()


def test_each_attempt_is_counted(w):
    submission = _received(w)
    pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    assert _reload(submission).attempts == 1


def test_the_page_polling_a_lost_submission_has_it_read_again(
    client, w, django_capture_on_commit_callbacks
):
    submission = _received(w)
    _lost(submission, attempts=1)
    client.force_login(w.uploader)
    with django_capture_on_commit_callbacks(execute=True):
        _page(client, w, submission)
    again = _reload(submission)
    assert (again.state, again.attempts) == ("ready", 2)
    assert again.rows_new == 1


def test_a_recent_attempt_is_left_to_its_worker(client, w, django_capture_on_commit_callbacks):
    submission = _received(w)
    _lost(submission, attempts=1, minutes=2)
    client.force_login(w.uploader)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = _page(client, w, submission)
    assert callbacks == []
    assert _reload(submission).state == "validating"
    assert b"hx-trigger" in page.content


def test_the_page_stops_polling_once_the_attempts_are_spent_and_offers_try_again_and_discard(
    client, w, django_capture_on_commit_callbacks
):
    submission = _received(w)
    _lost(submission, attempts=3)
    client.force_login(w.uploader)
    page = _page(client, w, submission).content.decode()
    assert _reload(submission).state == "failed"
    assert "hx-trigger" not in page
    assert "Try again" in page
    assert 'id="discard"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("metrics:submission_revalidate", args=[w.org.slug, submission.pk]))
    again = _reload(submission)
    assert (again.state, again.attempts, again.failure) == ("ready", 1, "")


def test_the_scheduled_recovery_requeues_or_fails_every_lost_submission(
    w, django_capture_on_commit_callbacks
):
    young, old, spent = _received(w), _received(w), _received(w)
    _lost(young, attempts=1, minutes=1)
    _lost(old, attempts=1)
    _lost(spent, attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.submissions_recover_all() == 2
    assert [_reload(s).state for s in (young, old, spent)] == ["validating", "ready", "failed"]


def test_an_uploader_discards_a_pending_submission_and_its_staged_rows_go(client, w):
    submission = _received(w)
    pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    client.force_login(w.uploader)
    assert 'id="discard"' in _page(client, w, submission).content.decode()
    response = client.post(
        reverse("metrics:submission_discard", args=[w.org.slug, submission.pk]), follow=True
    )
    assert "was discarded" in response.content.decode()
    discarded = _reload(submission)
    assert (discarded.state, discarded.discarded_by) == ("discarded", w.uploader)
    with scopes_disabled():
        assert not SubmissionRow.objects.filter(submission=submission).exists()
    confirm = client.post(reverse("metrics:submission_confirm", args=[w.org.slug, submission.pk]))
    assert confirm.status_code == 302
    with scopes_disabled():
        assert not Reading.objects.filter(organization=w.org).exists()


def test_an_applied_submission_cant_be_discarded(client, w):
    submission = _received(w)
    pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=_reload(submission)
    )
    client.force_login(w.uploader)
    response = client.post(
        reverse("metrics:submission_discard", args=[w.org.slug, submission.pk]), follow=True
    )
    page = response.content.decode()
    assert "be discarded: it was applied on" in page
    assert "To change a value, upload a corrected file." in page
    assert _reload(submission).state == "applied"


def test_discarding_is_for_uploaders_of_that_vendor_only(client, w):
    submission = _received(w)
    other = factories.UserFactory(username="olly")
    factories.MembershipFactory(
        organization=w.org, user=other, role=Membership.Role.VENDOR, vendor=w.other_vendor
    )
    lead = factories.UserFactory(username="lena")
    factories.MembershipFactory(organization=w.org, user=lead, role=Membership.Role.LEADERSHIP)
    url = reverse("metrics:submission_discard", args=[w.org.slug, submission.pk])
    client.force_login(other)
    assert client.post(url).status_code == 404
    client.force_login(lead)
    assert client.post(url).status_code == 403
    assert _reload(submission).state == "received"


def test_a_worker_that_finishes_after_a_discard_stores_nothing(w, monkeypatch):
    submission = _received(w)
    real_check = validate.check

    def discard_meanwhile(*args, **kwargs):
        pipeline.submission_discard(organization=w.org, actor=w.uploader, submission=submission)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(validate, "check", discard_meanwhile)
    pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    assert _reload(submission).state == "discarded"
    with scopes_disabled():
        assert not SubmissionRow.objects.filter(submission=submission).exists()


def test_the_same_file_after_a_correction_previews_the_change_instead_of_nothing_to_apply(w):
    first = _received(w)
    pipeline.submission_validate(submission_id=first.pk, today=TODAY)
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=_reload(first))
    correction = _received(w, b"contract,sla,period,value,note\nCORP-1,avail,2026-10,99.4,typo\n")
    pipeline.submission_validate(submission_id=correction.pk, today=TODAY)
    pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=_reload(correction)
    )
    again = _received(w)
    assert (again.state, again.duplicate_of) == ("received", None)
    again = pipeline.submission_validate(submission_id=again.pk, today=TODAY)
    assert (again.state, again.rows_changed) == ("ready", 1)
    with scopes_disabled():
        row = SubmissionRow.objects.get(submission=again)
    assert (row.old_value, row.value) == (Decimal("99.4"), Decimal("99.95"))


def test_the_same_file_with_the_values_still_stored_is_nothing_to_apply(w):
    first = _received(w)
    pipeline.submission_validate(submission_id=first.pk, today=TODAY)
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=_reload(first))
    again = _received(w)
    assert (again.state, again.duplicate_of_id) == ("duplicate", first.pk)


def test_a_workbook_that_would_kill_its_reader_leaves_an_invalid_submission_with_the_reason(
    client, w, django_capture_on_commit_callbacks
):
    (case,) = worst_cases.cases(["value_at_xfd1048576"])
    client.force_login(w.uploader)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("metrics:submissions", args=[w.org.slug]),
            {"vendor": w.vendor.pk, "file": SimpleUploadedFile("far.xlsx", case.data)},
        )
    with scopes_disabled():
        submission = Submission.objects.get(organization=w.org)
        error = submission.errors.get()
    assert submission.state == "invalid"
    assert "Cell XFD1048576" in error.message
    page = _page(client, w, submission).content.decode()
    assert "Cell XFD1048576" in page


def test_time_passes_for_the_recovery_rule_as_the_clock_says(w):
    submission = _received(w)
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert pipeline.submission_recover(submission_id=submission.pk) == "requeued"


def test_a_percentage_formatted_workbook_cell_is_stored_as_the_percentage_it_shows(w):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["contract", "sla", "period", "value"])
    ws.append(["CORP-1", "avail", "2026-10", 0.9995])
    ws.append(["CORP-1", "p1-res", "2026-10", 0.5])
    for row in (2, 3):
        ws.cell(row=row, column=4).number_format = "0.00%"
    import io

    buf = io.BytesIO()
    wb.save(buf)
    submission = pipeline.submission_validate(
        submission_id=_received(w, buf.getvalue(), "pct.xlsx").pk, today=TODAY
    )
    with scopes_disabled():
        errors = list(submission.errors.values_list("row_number", "column", "message"))
        staged = list(SubmissionRow.objects.filter(submission=submission).values_list("value"))
    assert staged == [(Decimal("99.950000"),)]
    assert errors == [(3, "value", "A % sign on a value in hours: give the number only.")]


def test_a_reason_keyed_by_a_digit_of_another_script_names_no_row(client, w):
    first = _received(w)
    pipeline.submission_validate(submission_id=first.pk, today=TODAY)
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=_reload(first))
    again = _received(w, b"contract,sla,period,value\nCORP-1,avail,2026-10,99.4\n")
    pipeline.submission_validate(submission_id=again.pk, today=TODAY)
    client.force_login(w.uploader)
    response = client.post(
        reverse("metrics:submission_confirm", args=[w.org.slug, again.pk]),
        {"reason-²": "typo", "reason-٢": "typo"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Give a reason for every changed value" in response.content.decode()
    assert _reload(again).state == "ready"
