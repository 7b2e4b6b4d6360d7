"""
The scorecard and the monthly report in real Chromium on the demo data: each
fits a 375 px phone without sideways scrolling, has no serious or critical
axe-core violation, and breaks no Content-Security-Policy rule.
"""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from slagov.demo import seed
from tests.test_browser import browser, login, page  # noqa: F401 (fixtures)
from tests.test_browser_a11y import FAILING, axe_violations, open_page

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def _paths(role: str) -> list[str]:
    from contracts.models import Contract

    with scopes_disabled():
        contract = Contract.objects.get(reference="NW-FLT-001")
    o = "/o/northwind"
    paths = [f"{o}/vendors/{contract.vendor_id}/", f"{o}/contracts/{contract.pk}/"]
    if role != "vera":  # the report is the customer side's own
        paths.append(f"{o}/reports/monthly/")
    return paths


@pytest.mark.django_db(transaction=True)
def test_the_scorecard_and_the_report_fit_a_375px_phone_and_pass_axe(page):  # noqa: F811
    seed()
    page.set_viewport_size(PHONE)
    wide: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    for role in ("lena", "vera"):
        page.context.clear_cookies()
        login(page, role)
        for path in _paths(role):
            open_page(page, path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide[f"{role} {path}"] = width
            for violation in axe_violations(page):
                if violation["impact"] in FAILING:
                    targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
                    found.setdefault(f"{role} {path}", []).append(f"{violation['id']}: {targets}")
    assert not wide, wide
    assert not found, found


@pytest.mark.django_db(transaction=True)
def test_the_scorecard_form_downloads_the_pdf_of_the_months_chosen(page):  # noqa: F811
    seed()
    login(page, "bob")
    open_page(page, _paths("bob")[0])
    page.fill("#scorecard-from", "2026-01")
    page.fill("#scorecard-to", "2026-03")
    with page.expect_download() as download:
        page.click("#scorecard button[type=submit]")
    assert download.value.suggested_filename == "scorecard-Fleetfix-Services-2026-01-2026-03.pdf"
