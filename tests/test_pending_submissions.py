"""After the upload: an error page names each row's SLA and takes the corrected file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from metrics.ingest import pipeline
from metrics.models import Submission
from slagov.models import Membership
from tests import factories
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
