"""
The vendor's month: the template holds exactly the periods owed, beside the
values on file; the Data page offers the months owed; any other month is a 400
that says why and offers the months owed.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from contracts.models import ServiceLevel
from metrics.models import Reading, Submission
from slagov.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db
DEC_3 = date(2026, 12, 3)  # a Thursday: 2026-W49 (30 Nov to 6 Dec) has not ended
DEC_7 = date(2026, 12, 7)  # the Monday after: it has
NOVEMBER_WEEKS = ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]


@pytest.fixture
def dec_3():
    with time_machine.travel(DEC_3, tick=False):
        yield


def _template(client, w, vendor=None, **params):
    vendor = vendor or w.vendor
    return client.get(reverse("metrics:vendor_template", args=[w.org.slug, vendor.pk]), params)


def _rows(response) -> list[dict]:
    """The readings sheet of a downloaded workbook, one dict per row."""
    sheet = load_workbook(io.BytesIO(response.content))["readings"]
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _keys(rows: list[dict]) -> list[tuple[str, str]]:
    return [(row["sla"], row["period"]) for row in rows]


def _filled(response, values: dict[tuple[str, str], str], stored_to: str | None = None) -> bytes:
    """The workbook as downloaded, with only value cells filled (and, to try, a stored cell)."""
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["readings"]
    header = [cell.value for cell in sheet[1]]
    sla, period = header.index("sla") + 1, header.index("period") + 1
    value, stored = header.index("value") + 1, header.index("stored_value") + 1
    for row in range(2, sheet.max_row + 1):
        key = (sheet.cell(row, sla).value, sheet.cell(row, period).value)
        if key in values:
            sheet.cell(row, value).value = values[key]
        if stored_to is not None:
            sheet.cell(row, stored).value = stored_to
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def upload(client, w, django_capture_on_commit_callbacks):
    def post(content: bytes, name: str = "november.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("metrics:submissions", args=[w.org.slug]),
                {"vendor": w.vendor.pk, "file": SimpleUploadedFile(name, content)},
            )
        assert response.status_code == 302, response.content.decode()[-500:]
        with scopes_disabled():
            return Submission.objects.latest("pk"), response.url

    return post


def _store(w, code: str, start: date, value: str) -> None:
    with scopes_disabled():
        factories.ReadingFactory(organization=w.org, service_level=w.slas[code],
                                 period_start=start, value=Decimal(value))  # fmt: skip


# ---------------------------------------------------------------------------
# 1 · Only periods owed
# ---------------------------------------------------------------------------


def test_a_week_that_has_not_ended_is_left_out_of_its_months_template(client, w):
    client.force_login(w.uploader)
    with time_machine.travel(DEC_3, tick=False):
        rows = _rows(_template(client, w, period="2026-11"))
    assert [p for s, p in _keys(rows) if s == "backlog"] == NOVEMBER_WEEKS
    with time_machine.travel(DEC_7, tick=False):
        rows = _rows(_template(client, w, period="2026-11"))
    assert [p for s, p in _keys(rows) if s == "backlog"] == [*NOVEMBER_WEEKS, "2026-W49"]


@pytest.mark.usefixtures("dec_3")
def test_periods_before_the_data_start_and_slas_no_longer_active_are_left_out(client, w):
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=w.slas["backlog"].pk).update(data_start=date(2026, 11, 16))
        ServiceLevel.objects.filter(pk=w.slas["avail"].pk).update(data_start=date(2026, 12, 1))
        ServiceLevel.objects.filter(pk=w.slas["csat"].pk).update(is_active=False)
    client.force_login(w.uploader)
    rows = _rows(_template(client, w, period="2026-11"))
    assert _keys(rows) == [("p1-res", "2026-11"), ("backlog", "2026-W47"),
                           ("backlog", "2026-W48")]  # fmt: skip


@pytest.mark.usefixtures("dec_3")
def test_the_template_as_downloaded_with_every_value_filled_in_is_ready_to_apply(client, w, upload):
    client.force_login(w.uploader)
    template = _template(client, w, period="2026-11")
    rows = _rows(template)
    submission, _ = upload(_filled(template, dict.fromkeys(_keys(rows), "3")))
    assert submission.state == Submission.State.READY
    assert (submission.rows_new, submission.error_count, submission.warnings) == (len(rows), 0, [])


@pytest.mark.usefixtures("dec_3")
def test_a_blank_row_for_a_period_not_owed_is_skipped_and_said_not_refused(client, w, upload):
    """An older template still listing 2026-W49: its blank row costs the upload nothing."""
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=w.slas["csat"].pk).update(is_active=False)
    client.force_login(w.uploader)
    csv = (b"contract,sla,period,value\nCORP-1,avail,2026-11,99.95\nCORP-1,backlog,2026-W49,\n"
           b"CORP-1,csat,2026-11,\n")  # fmt: skip
    submission, url = upload(csv, name="old.csv")
    assert (submission.state, submission.rows_new, submission.error_count) == ("ready", 1, 0)
    page = client.get(url).content.decode()
    assert "Row 3 has no value and nothing is owed for it, so it was skipped: The period " \
           "2026-W49 has not ended yet (it ends 6 Dec 2026)." in page  # fmt: skip
    assert "Row 4 has no value and nothing is owed for it, so it was skipped: No data is owed " \
           "for csat: it is no longer active." in page  # fmt: skip
    # A value for the week that has not ended is still refused.
    submission, _ = upload(b"contract,sla,period,value\nCORP-1,backlog,2026-W49,120\n", "w.csv")
    assert submission.state == Submission.State.INVALID


@pytest.mark.usefixtures("dec_3")
def test_a_blank_row_for_a_period_owed_is_refused_with_its_sla_named(client, w, upload):
    client.force_login(w.uploader)
    submission, url = upload(b"contract,sla,period,value\nCORP-1,avail,2026-11,\n", "b.csv")
    assert submission.state == Submission.State.INVALID
    row = client.get(url).content.decode()
    assert "The value is missing. Data for 2026-11 is owed: fill it in, or remove the row" in row
    assert f'CORP-1 · avail <span class="muted">{w.slas["avail"].name}</span>' in row


# ---------------------------------------------------------------------------
# 2 · The values on file, beside each row; never read back
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("dec_3")
def test_the_template_shows_the_value_on_file_beside_each_row(client, w):
    _store(w, "avail", date(2026, 11, 1), "99.95")
    _store(w, "backlog", date(2026, 11, 9), "140")
    client.force_login(w.uploader)
    stored = {(r["sla"], r["period"]): r["stored_value"] for r in _rows(_template(client, w))}
    assert stored[("avail", "2026-11")] == "99.95"
    assert stored[("backlog", "2026-W46")] == "140"
    assert stored[("p1-res", "2026-11")] is None
    csv = _template(client, w, format="csv").content.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("contract,sla,period,value,stored_value,note,")
    assert any(line.startswith("CORP-1,avail,2026-11,,99.95,,") for line in csv)


@pytest.mark.usefixtures("dec_3")
def test_a_month_with_data_uploaded_again_as_it_is_changes_nothing_and_asks_no_reason(
    client, w, upload
):
    _store(w, "avail", date(2026, 11, 1), "99.95")
    _store(w, "backlog", date(2026, 11, 9), "140")
    client.force_login(w.uploader)
    template = _template(client, w, period="2026-11")
    values = dict.fromkeys(_keys(_rows(template)), "3.5")
    values |= {("avail", "2026-11"): "99.95", ("backlog", "2026-W46"): 140}
    # Whatever is typed over the stored column is not read.
    submission, url = upload(_filled(template, values, stored_to="=1/0"))
    assert (submission.rows_unchanged, submission.rows_changed, submission.rows_new) == (2, 0, 5)
    page = client.get(url).content.decode()
    assert page.count("Unchanged</span>") == 2
    assert 'name="reason-' not in page
    client.post(url + "confirm/")
    with scopes_disabled():
        assert Reading.objects.get(service_level=w.slas["p1-res"]).value == Decimal("3.5")
        assert Reading.objects.get(service_level=w.slas["avail"]).revision == 1


@pytest.mark.usefixtures("dec_3")
def test_the_data_page_shows_what_is_on_file_for_the_month_picked(client, w):
    _store(w, "avail", date(2026, 11, 1), "99.95")
    client.force_login(w.uploader)
    page = client.get(reverse("metrics:submissions", args=[w.org.slug])).content.decode()
    on_file = page[page.index('id="on-file"') :]
    assert 'data-sla="avail"' in on_file
    assert "99.95 %" in on_file
    assert on_file.count("nothing yet") == 2 + len(NOVEMBER_WEEKS)  # p1-res, csat, the weeks


# ---------------------------------------------------------------------------
# 3 · A month picker of the months owed; a 400 for anything else
# ---------------------------------------------------------------------------


def _options(page: str) -> list[str]:
    picker = page[page.index('id="period"') : page.index("</select>", page.index('id="period"'))]
    return [part.split('"')[1] for part in picker.split("<option value=")[1:]]


def test_the_data_page_offers_the_months_owed_newest_first_the_month_just_ended_picked(client, w):
    client.force_login(w.uploader)
    url = reverse("metrics:submissions", args=[w.org.slug])
    with time_machine.travel(DEC_3, tick=False):
        page = client.get(url).content.decode()
    assert _options(page)[:2] == ["2026-11", "2026-10"]
    assert _options(page)[-1] == "2024-12"  # the week 2025-W01 starts on 30 Dec 2024
    assert '<option value="2026-11" selected>Nov 2026</option>' in page
    assert "?period=2026-11&amp;format=csv" in page
    with time_machine.travel(date(2026, 12, 15), tick=False):
        page = client.get(url).content.decode()
    # 2026-W50 has ended: December so far is offered, November still picked.
    assert '<option value="2026-12">Dec 2026 (so far)</option>' in page
    assert '<option value="2026-11" selected>' in page


@pytest.mark.usefixtures("dec_3")
def test_picking_a_month_redraws_the_panel_with_that_months_rows(client, w):
    client.force_login(w.uploader)
    url = reverse("metrics:submissions", args=[w.org.slug])
    panel = client.get(url, {"period": "2026-10"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in panel
    assert 'id="month-panel"' in panel[:100]
    assert 'data-period="2026-W44"' in panel
    assert "?period=2026-10" in panel


@pytest.mark.usefixtures("dec_3")
@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("abc", "&#x27;abc&#x27; is not a period: write 2026-10 or a date like 2026-10-15"),
        ("2026-13", "a year has no month 13"),
        ("2026-W48", "is a week, not a month: the week 2026-W48 starts in 2026-11."),
        ("2027-01", "2027-01 is still to come: a template holds only periods that have ended."),
        ("2026-12", "No period of 2026-12 has ended yet."),
        ("2024-11", "Data is owed from 2024-12 on: 2024-11 is before it"),
        ("9999-12", "the year must be from 2000 to 2999"),
    ],
)
def test_a_month_with_no_template_is_a_400_that_says_why_and_offers_the_months_owed(
    client, w, period, says
):
    client.force_login(w.uploader)
    response = _template(client, w, period=period, format="csv")
    assert response.status_code == 400
    page = response.content.decode()
    assert says in page
    assert "?period=2026-11&amp;format=csv" in page  # the months owed, in the format asked for
    assert "?period=2024-12&amp;format=csv" in page
    # The Data page names the problem and shows the month just ended instead.
    data = client.get(reverse("metrics:submissions", args=[w.org.slug]), {"period": period})
    assert data.status_code == 200
    assert says in data.content.decode()
    assert "Showing Nov 2026 instead." in data.content.decode()


@pytest.mark.usefixtures("dec_3")
def test_a_month_between_contracts_says_nothing_is_owed_then(client, w):
    vendor = factories.VendorFactory(organization=w.org, name="Seasonal")
    contract = factories.ContractFactory(
        organization=w.org, vendor=vendor, start_date=date(2025, 1, 1), end_date=date(2025, 6, 30)
    )
    factories.ServiceLevelFactory(organization=w.org, contract=contract, code="avail")
    client.force_login(w.manager)
    response = _template(client, w, vendor=vendor, period="2025-09")
    assert response.status_code == 400
    assert "No data is owed for 2025-09: no SLA is measured then." in response.content.decode()
    assert _template(client, w, vendor=vendor, period="2025-06").status_code == 200
    # Without a month, the latest month owed.
    assert _template(client, w, vendor=vendor)["Content-Disposition"].endswith('-2025-06.xlsx"')


@pytest.mark.usefixtures("dec_3")
def test_a_vendor_that_owes_nothing_yet_gets_a_400_that_says_so(client, w):
    vendor = factories.VendorFactory(organization=w.org, name="Newcomer")
    contract = factories.ContractFactory(
        organization=w.org, vendor=vendor, start_date=date(2026, 12, 1), end_date=date(2027, 11, 30)
    )
    factories.ServiceLevelFactory(organization=w.org, contract=contract, code="avail")
    client.force_login(w.manager)
    response = _template(client, w, vendor=vendor)
    assert response.status_code == 400
    assert "No data is owed yet" in response.content.decode()
    page = client.get(reverse("metrics:submissions", args=[w.org.slug]), {"vendor": vendor.pk})
    assert 'id="nothing-owed"' in page.content.decode()


@pytest.mark.usefixtures("dec_3")
def test_another_vendors_template_and_months_are_not_found(client, w):
    outsider = factories.OrganizationFactory(slug="elsewhere")
    charlie = factories.UserFactory(username="charlie-month")
    factories.MembershipFactory(organization=outsider, user=charlie,
                                role=Membership.Role.ADMIN)  # fmt: skip
    client.force_login(w.uploader)
    assert _template(client, w, vendor=w.other_vendor, period="2026-11").status_code == 404
    data = reverse("metrics:submissions", args=[w.org.slug])
    assert client.get(data, {"vendor": w.other_vendor.pk}).status_code == 404
    assert client.get(data, {"vendor": "x1"}).status_code == 404
    client.force_login(charlie)
    assert _template(client, w, period="2026-11").status_code == 404


def _data_page_queries(client, w) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("metrics:submissions", args=[w.org.slug]))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.usefixtures("dec_3")
def test_the_data_page_reads_the_months_and_values_on_file_in_a_fixed_number_of_queries(client, w):
    client.force_login(w.uploader)
    few = _data_page_queries(client, w)
    for n in range(3):  # more contracts, SLAs, values on file and weeks
        contract = factories.ContractFactory(organization=w.org, vendor=w.vendor,
                                             reference=f"CORP-{n + 2}")  # fmt: skip
        for code, kind, start in (("avail", "monthly", date(2026, 11, 1)),
                                  ("backlog", "weekly", date(2026, 11, 9))):  # fmt: skip
            sla = factories.ServiceLevelFactory(organization=w.org, contract=contract, code=code,
                                                period=kind)  # fmt: skip
            factories.TermsFactory(organization=w.org, service_level=sla)
            factories.ReadingFactory(organization=w.org, service_level=sla, period_start=start,
                                     value=Decimal("99.9"))  # fmt: skip
    page = client.get(reverse("metrics:submissions", args=[w.org.slug])).content.decode()
    assert "CORP-4 · backlog" in page
    # Session, user, membership; vendors; SLAs with contracts; values on file; terms; credit
    # tiers; the switchable memberships (menu); the submissions.
    assert few == _data_page_queries(client, w) == 10
