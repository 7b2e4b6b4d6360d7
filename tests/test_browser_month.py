"""
A vendor's month end to end in real Chromium: pick the month, download the
template as it is, fill only its value cells, upload, read the preview (a
value equal to the one on file is unchanged), apply, and see the statuses.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from contracts import periods
from metrics import engine
from slagov.models import Membership
from tests import factories
from tests.factories import PASSWORD
from tests.test_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
MONTHLY, WEEKLY = periods.Period.MONTHLY, periods.Period.WEEKLY


def _weeks_owed(month: date, today: date) -> list[date]:
    """Mondays in the month whose week has ended by today."""
    day = month + timedelta(days=(7 - month.weekday()) % 7)
    weeks = []
    while day.month == month.month and day + timedelta(days=7) <= today:
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


def _world(today: date):
    month = periods.last_closed_period(today, MONTHLY)
    with scopes_disabled():
        org = factories.OrganizationFactory(slug="harbour", name="Harbour Freight")
        vendor = factories.VendorFactory(organization=org, name="Tidewater Services")
        contract = factories.ContractFactory(
            organization=org, vendor=vendor, reference="TW-1",
            start_date=periods.add_periods(month, MONTHLY, -6),
            end_date=periods.add_periods(month, MONTHLY, 24) - timedelta(days=1),
        )  # fmt: skip
        avail = factories.ServiceLevelFactory(
            organization=org, contract=contract, code="avail", name="Service availability",
            unit="percent", direction="higher", period=MONTHLY,
        )  # fmt: skip
        factories.TermsFactory(organization=org, service_level=avail,
                               target=Decimal("99.9"), minimum=Decimal("99.5"))  # fmt: skip
        backlog = factories.ServiceLevelFactory(
            organization=org, contract=contract, code="backlog", name="Open ticket backlog",
            unit="count", direction="lower", period=WEEKLY, kind="kpi",
        )  # fmt: skip
        factories.TermsFactory(organization=org, service_level=backlog, direction="lower",
                               target=Decimal("150"), minimum=Decimal("250"))  # fmt: skip
        first_week = _weeks_owed(month, today)[0]
        factories.ReadingFactory(organization=org, service_level=backlog,
                                 period_start=first_week, value=Decimal("140"))  # fmt: skip
        # Every period has its status, as the hourly refresh leaves them.
        engine.recompute(organization_id=org.pk, service_level_ids=[avail.pk, backlog.pk],
                         today=today)  # fmt: skip
        user = factories.UserFactory(username="tess")
        factories.MembershipFactory(organization=org, user=user, role=Membership.Role.VENDOR,
                                    vendor=vendor)  # fmt: skip
    return org, avail, backlog, month


@pytest.mark.django_db(transaction=True)
def test_vendor_reports_a_month_from_the_template_as_downloaded_to_new_statuses(
    page,  # noqa: F811
    tmp_path,
):
    today = timezone.localdate()
    org, avail, backlog, month = _world(today)
    weeks = _weeks_owed(month, today)
    month_label = periods.period_label(month, MONTHLY)
    week_labels = [periods.period_label(w, WEEKLY) for w in weeks]
    # The SLA page reads periods as people do: "Nov 2026", "W45 2026".
    month_shown = f"{month:%b %Y}"
    weeks_shown = [f"W{w.isocalendar()[1]} {w.isocalendar()[0]}" for w in weeks]

    page.goto(f"{page.base}/login/")
    page.fill("#id_login", "tess")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/o/**")
    page.click("nav >> text=Data")

    # The month picker: an earlier month, then back to the month just ended (htmx redraws).
    earlier = periods.period_label(periods.add_periods(month, MONTHLY, -1), MONTHLY)

    def pick(value: str) -> None:
        # The picker is redrawn with the panel: wait for the new one, not just the new URL
        # (the URL may change before the swap; a change on the old select goes nowhere).
        page.evaluate("() => { document.querySelector('#period').dataset.old = '1'; }")
        page.select_option("#period", value)
        page.wait_for_url(f"**period={value}*")
        page.wait_for_selector("#period:not([data-old])")
        assert page.input_value("#period") == value

    pick(earlier)
    pick(month_label)
    on_file = page.locator(f"#on-file tr[data-sla=backlog][data-period='{week_labels[0]}']")
    assert "\t140\t" in on_file.inner_text()
    assert "nothing yet" in page.inner_text("#on-file tr[data-sla=avail]")

    with page.expect_download() as download:
        page.click("#download-xlsx")
    path = tmp_path / "template.xlsx"
    path.write_bytes(download.value.path().read_bytes())

    # Only the value cells are filled; rows, columns and the stored values stay as they came.
    book = load_workbook(path)
    sheet = book["readings"]
    header = [cell.value for cell in sheet[1]]
    assert header[:6] == ["contract", "sla", "period", "value", "stored_value", "note"]
    listed = [(sheet.cell(r, 2).value, sheet.cell(r, 3).value) for r in range(2, sheet.max_row + 1)]
    assert listed == [("avail", month_label)] + [("backlog", w) for w in week_labels]
    assert sheet.cell(3, 5).value == "140"  # the first week's stored value, beside it
    sheet.cell(2, 4).value = 99.95  # green
    sheet.cell(3, 4).value = 140  # the value on file: unchanged
    for row in range(4, sheet.max_row + 1):
        sheet.cell(row, 4).value = 300  # red: worse than the minimum of 250
    filled = tmp_path / f"tidewater-{month_label}.xlsx"
    book.save(filled)

    page.set_input_files("input[type=file]", str(filled))
    page.click("text=Upload and check")
    page.wait_for_selector("#submission-status[data-state=ready]")
    unchanged = page.inner_text("#unchanged-rows")
    assert week_labels[0] in unchanged
    assert "Unchanged" in unchanged
    new = page.inner_text("#new-rows")
    assert month_label in new
    assert "Green" in new
    assert page.locator("input[name^=reason-]").count() == 0  # nothing changed: no reason asked
    assert f"Apply {len(weeks)} values" in page.inner_text("#confirm")
    page.click("#confirm")
    page.wait_for_selector("#submission-status[data-state=applied]")

    page.goto(f"{page.base}/o/{org.slug}/slas/{avail.pk}/")
    assert "Green" in page.locator("#history tr", has_text=month_shown).inner_text()
    page.goto(f"{page.base}/o/{org.slug}/slas/{backlog.pk}/")
    assert "Green" in page.locator("#history tr", has_text=weeks_shown[0]).inner_text()
    assert "Red" in page.locator("#history tr", has_text=weeks_shown[-1]).inner_text()
