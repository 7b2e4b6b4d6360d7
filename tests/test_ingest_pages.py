"""The upload pages: template download, upload, progress polling, preview and confirmation."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from metrics.ingest import files
from metrics.models import Reading, Submission
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]


@pytest.fixture
def upload(client, w, django_capture_on_commit_callbacks):
    """POST a file; the validation task runs when the upload commits, as it would."""

    def post(content: bytes, name="data.csv", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("metrics:submissions", args=[w.org.slug]),
                {"vendor": w.vendor.pk, "file": SimpleUploadedFile(name, content)},
                **extra,
            )

    return post


def test_xlsx_template_lists_every_sla_to_report_with_terms_in_force(client, w):
    client.force_login(w.uploader)
    response = client.get(
        reverse("metrics:vendor_template", args=[w.org.slug, w.vendor.pk]), {"period": "2026-10"}
    )
    assert response["Content-Disposition"].endswith('-2026-10.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["readings", "SLAs"]
    rows = list(book["readings"].iter_rows(values_only=True))
    assert rows[0][:6] == ("contract", "sla", "period", "value", "stored_value", "note")
    keys = [(r[0], r[1], r[2]) for r in rows[1:]]
    assert ("CORP-1", "avail", "2026-10") in keys
    weeks = sorted(r[2] for r in rows[1:] if r[1] == "backlog")
    assert weeks == ["2026-W41", "2026-W42", "2026-W43", "2026-W44"]  # weeks starting in October
    assert all(r[3] in (None, "") for r in rows[1:])  # values left blank
    about = {r[1]: r for r in book["SLAs"].iter_rows(values_only=True)}
    assert about["avail"][7:10] == ("99.9", "99.5", "2026-11-05")
    # The other vendor's contract is not in this vendor's template.
    assert not any(r[0] == "OTHER-1" for r in rows)


def test_csv_template_filled_in_uploads_cleanly(client, w):
    client.force_login(w.uploader)
    template = client.get(
        reverse("metrics:vendor_template", args=[w.org.slug, w.vendor.pk]),
        {"period": "2026-10", "format": "csv"},
    ).content.decode("utf-8-sig")
    lines = template.splitlines()
    filled = [lines[0]] + [
        line.replace(",2026-10,,", ",2026-10,3,").replace(",,,,Service", ",1,,,Service")
        for line in lines[1:]
    ]
    table = files.read_table("\n".join(filled).encode(), "t.csv")
    assert table.warnings == []  # the template's help columns are not "unknown"
    assert set(table.frame["value"]) <= {"3", "1"}


def test_upload_redirects_to_a_page_that_polls_until_validated(client, w, upload):
    client.force_login(w.uploader)
    response = upload(b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    assert response.status_code == 302
    with scopes_disabled():
        submission = Submission.objects.get()
    page = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    # Validated in-process here (eager tasks), so the partial no longer polls.
    assert 'data-state="ready"' in page
    assert "hx-trigger" not in page
    with scopes_disabled():
        Submission.objects.filter(pk=submission.pk).update(state="validating", progress=30)
    polling = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in polling
    assert "<html" not in polling


def test_preview_then_confirm_with_a_reason_for_each_change(
    client, w, upload, django_capture_on_commit_callbacks
):
    client.force_login(w.uploader)
    first = upload(b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    client.post(first.url + "confirm/")
    second = upload(b"contract,sla,period,value\nCORP-1,avail,2026-10,99.2\n")
    page = client.get(second.url).content.decode()
    assert "99.95 → <strong>99.2</strong>" in page
    assert 'name="reason-2"' in page
    refused = client.post(second.url + "confirm/", follow=True).content.decode()
    assert "Give a reason for every changed value (rows 2)" in refused
    with django_capture_on_commit_callbacks(execute=True):  # statuses refresh after commit
        client.post(second.url + "confirm/", {"reason-2": "meter recalibrated"})
    with scopes_disabled():
        reading = Reading.objects.get()
        assert reading.value == Decimal("99.2")
        assert reading.revisions.get().reason == "meter recalibrated"
    history = client.get(reverse("metrics:sla", args=[w.org.slug, w.slas["avail"].pk]))
    assert "meter recalibrated" in history.content.decode()


def test_leadership_cannot_upload(client, w, upload):
    from tests import factories

    lena = factories.UserFactory(username="lena-ingest")
    factories.MembershipFactory(organization=w.org, user=lena, role="leadership")
    client.force_login(lena)
    response = upload(b"contract,sla,period,value\nCORP-1,avail,2026-10,99\n")
    assert response.status_code == 403


def test_unknown_and_other_vendors_contracts_read_alike(client, w, upload):
    client.force_login(w.uploader)
    response = upload(
        b"contract,sla,period,value\nOTHER-1,avail,2026-10,99\nNOPE-9,avail,2026-10,99\n",
        follow=True,
    )
    with scopes_disabled():
        messages = list(Submission.objects.get().errors.values_list("message", flat=True))
    assert messages == [
        "Unknown contract 'OTHER-1' for this vendor.",
        "Unknown contract 'NOPE-9' for this vendor.",
    ]
    assert response.status_code == 200


def test_oversized_request_is_refused_before_reading_it(client, w, upload):
    client.force_login(w.uploader)
    big = b"x" * (files.MAX_BYTES + 1024 * 1024)
    response = upload(big, name="big.csv")
    assert response.status_code == 200
    assert "larger than 10 MB" in response.content.decode()
    with scopes_disabled():
        assert not Submission.objects.exists()
    assert date.today() == TODAY
