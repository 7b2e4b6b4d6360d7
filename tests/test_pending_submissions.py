"""
After the upload: a stale preview is validated again in place and keeps the
reasons typed; pending submissions are discarded from the Data list or expire
after Submission.PREVIEW_DAYS; an error page names each row's SLA and takes
the corrected file.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from metrics.ingest import pipeline
from metrics.models import Reading, Submission, SubmissionRow
from slagov.celery import app as celery_app
from slagov.models import Membership
from tests import factories, ingest_world
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
HEADER = "contract,sla,period,value,note\n"


def _submit(w, text: str, *, apply: bool = False, reasons=None) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=(HEADER + text).encode(),
        filename="data.csv", enqueue=False,
    )  # fmt: skip
    submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    if apply:
        outcome = pipeline.submission_confirm(
            organization=w.org, actor=w.uploader, submission=submission, reasons=reasons
        )
        assert outcome.ok, outcome.message
    return _reload(submission)


def _reload(submission) -> Submission:
    with scopes_disabled():
        return Submission.objects.get(pk=submission.pk)


def _url(w, name: str, submission) -> str:
    return reverse(f"metrics:{name}", args=[w.org.slug, submission.pk])


def _messages(page: str) -> str:
    start = page.find('<ul class="messages">')
    return page[start : page.find("</ul>", start)] if start >= 0 else ""


# ---------------------------------------------------------------------------
# 4 · A stale preview: validate again in place, keep what was typed
# ---------------------------------------------------------------------------


def test_a_stale_preview_offers_validate_again_instead_of_apply_and_keeps_the_reasons_typed(
    client, w, django_capture_on_commit_callbacks
):
    _submit(w, "CORP-1,avail,2026-10,99.95,\n", apply=True)
    preview = _submit(w, "CORP-1,avail,2026-10,99.2,\n")
    client.force_login(w.uploader)
    assert 'id="confirm"' in client.get(_url(w, "submission", preview)).content.decode()
    # Meanwhile a correction is applied: the preview's "stored → new" is out of date.
    _submit(w, "CORP-1,avail,2026-10,99.5,meter swapped\n", apply=True)

    # The Apply clicked on the page as it was loaded: refused, the reason typed kept.
    refused = client.post(
        _url(w, "submission_confirm", preview), {"reason-2": "probe recalibrated"}, follow=True
    ).content.decode()
    assert "The data changed since this preview was made" in _messages(refused)
    assert 'id="stale"' in refused
    assert 'id="confirm"' not in refused  # no Apply on a stale preview
    assert 'id="revalidate"' in refused
    assert 'value="probe recalibrated"' in refused

    # "Validate again", with the reason edited on the way: a fresh preview, the reason kept.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(w, "submission_revalidate", preview), {"reason-2": "probe swapped"})
    fresh = client.get(_url(w, "submission", preview)).content.decode()
    assert _reload(preview).state == Submission.State.READY
    assert 'id="stale"' not in fresh
    assert "99.5 → <strong>99.2</strong>" in fresh
    assert 'value="probe swapped"' in fresh
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(_url(w, "submission_confirm", preview), follow=True)
    assert "Applied 1 reading" in applied.content.decode()
    with scopes_disabled():
        assert Reading.objects.get(service_level=w.slas["avail"]).note == "probe swapped"


def test_a_reason_typed_before_a_refusal_for_a_missing_one_is_kept(client, w):
    _submit(w, "CORP-1,avail,2026-10,99.95,\nCORP-1,p1-res,2026-10,3,\n", apply=True)
    preview = _submit(w, "CORP-1,avail,2026-10,99.2,\nCORP-1,p1-res,2026-10,5,\n")
    client.force_login(w.uploader)
    page = client.post(
        _url(w, "submission_confirm", preview), {"reason-2": "probe recalibrated"}, follow=True
    ).content.decode()
    assert "Give a reason for every changed value (rows 3)." in _messages(page)
    assert 'value="probe recalibrated"' in page


# ---------------------------------------------------------------------------
# 5 · Pending submissions: discarded from the Data list, or expired
# ---------------------------------------------------------------------------


def test_the_data_list_offers_discard_for_pending_submissions_only(client, w):
    applied = _submit(w, "CORP-1,avail,2026-10,99.95,\n", apply=True)
    dry_run = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    client.force_login(w.uploader)
    page = client.get(reverse("metrics:submissions", args=[w.org.slug])).content.decode()
    assert f'aria-label="Discard submission #{dry_run.pk}"' in page
    assert f'aria-label="Discard submission #{applied.pk}"' not in page
    response = client.post(_url(w, "submission_discard", dry_run), {"next": "list"})
    assert response.url == reverse("metrics:submissions", args=[w.org.slug])
    listed = client.get(response.url).content.decode()
    assert f"Submission #{dry_run.pk} was discarded" in _messages(listed)
    assert f'aria-label="Discard submission #{dry_run.pk}"' not in listed
    assert _reload(dry_run).state == Submission.State.DISCARDED


def test_a_double_click_on_discard_discards_once_and_says_so_without_an_error(client, w):
    dry_run = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    client.force_login(w.uploader)
    url = _url(w, "submission_discard", dry_run)
    first = client.post(url, {"next": "list"}, follow=True).content.decode()
    discarded_at = _reload(dry_run).discarded_at
    second = client.post(url, {"next": "list"}, follow=True).content.decode()
    assert "was discarded" in _messages(first)
    assert 'class="success">Submission' in _messages(second)
    assert f"Submission #{dry_run.pk} was already discarded on" in _messages(second)
    assert _reload(dry_run).discarded_at == discarded_at


def test_discarding_an_applied_submission_is_refused_and_says_why(client, w):
    applied = _submit(w, "CORP-1,avail,2026-10,99.95,\n", apply=True)
    client.force_login(w.uploader)
    page = client.post(_url(w, "submission_discard", applied), follow=True).content.decode()
    said = _messages(page)
    assert 'class="error"' in said
    assert f"Submission #{applied.pk} can&#x27;t be discarded: it was applied on" in said
    assert "its values are stored. To change a value, upload a corrected file." in said
    assert _reload(applied).state == Submission.State.APPLIED
    with scopes_disabled():
        assert Reading.objects.filter(service_level=w.slas["avail"]).exists()


def test_another_vendors_and_another_tenants_users_cant_discard(client, w):
    dry_run = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    olly = factories.UserFactory(username="olly-pending")
    factories.MembershipFactory(organization=w.org, user=olly, role=Membership.Role.VENDOR,
                                vendor=w.other_vendor)  # fmt: skip
    other = factories.OrganizationFactory(slug="other-pending")
    charlie = factories.UserFactory(username="charlie-pending")
    factories.MembershipFactory(organization=other, user=charlie, role=Membership.Role.ADMIN)
    for outsider in (olly, charlie):
        client.force_login(outsider)
        assert client.post(_url(w, "submission_discard", dry_run)).status_code == 404
    assert _reload(dry_run).state == Submission.State.READY


def test_a_preview_says_when_it_expires(client, w):
    dry_run = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    client.force_login(w.uploader)
    page = client.get(_url(w, "submission", dry_run)).content.decode()
    assert "This preview is kept until 2 Dec 2026 00:00 (7 days after it was made)" in page
    listed = client.get(reverse("metrics:submissions", args=[w.org.slug])).content.decode()
    assert "expires 2 Dec 00:00" in listed
    assert "a preview not applied within 7 days expires" in listed


def test_previews_not_applied_within_seven_days_expire_and_nothing_else_does(w):
    old = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    applied = _submit(w, "CORP-1,avail,2026-10,99.95,\n", apply=True)
    invalid = _submit(w, "CORP-1,avail,2026-10,lots,\n")
    with time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False):
        recent = _submit(w, "CORP-1,p1-res,2026-10,3,\n")
    with time_machine.travel(datetime(2026, 12, 2, 0, 1, tzinfo=UTC), tick=False):
        report = pipeline.submissions_expire()
        assert pipeline.submissions_expire().done == 0  # a re-run has nothing left to do
    assert report.done == 1
    states = [_reload(s).state for s in (old, applied, invalid, recent)]
    assert states == ["expired", "applied", "invalid", "ready"]
    with scopes_disabled():
        assert not SubmissionRow.objects.filter(submission=old).exists()
        assert SubmissionRow.objects.filter(submission=recent).exists()


def test_an_expired_preview_cant_be_applied_but_can_be_validated_again(
    client, w, django_capture_on_commit_callbacks
):
    dry_run = _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    with time_machine.travel(datetime(2026, 12, 3, tzinfo=UTC), tick=False):
        pipeline.submissions_expire()
    client.force_login(w.uploader)
    page = client.get(_url(w, "submission", dry_run)).content.decode()
    assert "<strong>Expired</strong> on 3 Dec 2026 00:00" in page
    assert 'id="confirm"' not in page
    refused = client.post(_url(w, "submission_confirm", dry_run), follow=True).content.decode()
    assert f"Submission #{dry_run.pk} expired on 3 Dec 2026 00:00" in _messages(refused)
    assert "Validate it again to see a fresh preview." in _messages(refused)
    with scopes_disabled():
        assert not Reading.objects.filter(organization=w.org).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(w, "submission_revalidate", dry_run))
    assert _reload(dry_run).state == Submission.State.READY
    assert 'id="confirm"' in client.get(_url(w, "submission", dry_run)).content.decode()


def test_expiry_runs_on_a_schedule_and_from_the_command_line(w):
    assert celery_app.conf.beat_schedule["expire-previews"]["task"] == (
        "metrics.tasks.expire_previews"
    )
    other = ingest_world.build(factories.OrganizationFactory(slug="second", name="Second"))
    _submit(w, "CORP-1,avail,2026-09,99.9,\n")
    _submit(other, "CORP-1,avail,2026-09,99.9,\n")
    out = io.StringIO()
    with time_machine.travel(TODAY + timedelta(days=8), tick=False):
        call_command("expire_previews", stdout=out)
    assert out.getvalue().strip() == "2 previews expired."  # one in each organisation


# ---------------------------------------------------------------------------
# 6 · The error page: each row's SLA named, and the corrected file taken there
# ---------------------------------------------------------------------------


def test_the_error_page_takes_the_corrected_file_for_the_same_vendor(
    client, w, django_capture_on_commit_callbacks
):
    client.force_login(w.manager)  # an account manager picks the vendor on the Data page
    invalid = _submit(w, "CORP-1,avail,2026-10,lots,\n")
    page = client.get(_url(w, "submission", invalid)).content.decode()
    form = page[page.rindex("<form", 0, page.index('id="upload-corrected"')) :]
    action = reverse("metrics:submissions", args=[w.org.slug])
    assert form.startswith(f'<form method="post" action="{action}"')
    assert f'name="vendor" value="{w.vendor.pk}"' in form
    corrected = SimpleUploadedFile("fixed.csv", (HEADER + "CORP-1,avail,2026-10,99.9,\n").encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, {"vendor": w.vendor.pk, "file": corrected})
    with scopes_disabled():
        latest = Submission.objects.latest("pk")
    assert response.url == _url(w, "submission", latest)
    assert (latest.vendor, latest.state) == (w.vendor, Submission.State.READY)


def test_leadership_sees_the_errors_without_an_upload_form(client, w):
    lena = factories.UserFactory(username="lena-pending")
    factories.MembershipFactory(organization=w.org, user=lena, role=Membership.Role.LEADERSHIP)
    invalid = _submit(w, "CORP-1,avail,2026-10,lots,\n")
    client.force_login(lena)
    page = client.get(_url(w, "submission", invalid)).content.decode()
    assert "&#x27;lots&#x27; is not a number." in page
    assert 'id="upload-corrected"' not in page


def test_each_error_names_its_rows_sla_on_the_page_and_in_the_csv(client, w):
    invalid = _submit(w, "CORP-1,p1-res,2026-10,lots,\nCORP-1,nope,2026-10,1,\n")
    client.force_login(w.uploader)
    page = client.get(_url(w, "submission", invalid)).content.decode()
    name = w.slas["p1-res"].name
    assert f'<td class="sla">CORP-1 · p1-res <span class="muted">{name}</span></td>' in page
    assert '<td class="sla"></td>' in page  # an unknown SLA: nothing to name
    csv = client.get(_url(w, "submission_errors", invalid)).content.decode("utf-8-sig")
    lines = csv.splitlines()
    assert lines[0] == "row,contract,sla,sla_name,column,value,message"
    assert lines[1].startswith(f"2,CORP-1,p1-res,{name},value,lots,")
    assert lines[2].startswith("3,,,,sla,nope,")
