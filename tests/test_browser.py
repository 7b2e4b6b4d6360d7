"""Real Chromium, driven by Playwright, against a live server with the demo data."""

from __future__ import annotations

import os
import shutil

import pytest

from slagov.demo import DEMO_PASSWORD, seed
from tests.conftest import CHROMIUM, require_service

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    require_service("Chromium", bool(executable))
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own
    # database calls are still plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A request cut short by navigating away (ERR_ABORTED) is not a failure of the app.
    page.on(
        "requestfailed",
        lambda req: (
            "ERR_ABORTED" not in (req.failure or "")
            and errors.append(f"failed: {req.url} ({req.failure})")
        ),
    )
    # Content-Security-Policy: every violation is an error, whether the browser reports it
    # as an event or only on the console ("Refused to execute inline script ...").
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')"
        " + ' at ' + e.sourceFile + ':' + e.lineNumber));"
    )
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
    page.base = live_server.url
    page.errors = errors
    yield page
    context.close()
    assert not errors, errors


# Predicates for wait_for_function are written as functions ("() => ..."): Playwright
# evaluates a bare expression with eval() in the page, which the CSP forbids.


def login(page, username: str) -> None:
    page.goto(f"{page.base}/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/o/**")


@pytest.mark.django_db(transaction=True)
def test_account_manager_filters_portfolio_and_opens_a_contract_chart(page):
    seed()
    login(page, "bob")
    rows = page.locator("#portfolio tbody tr")
    assert rows.count() == 12
    assert page.locator("#portfolio .pill-red").count() >= 1

    page.select_option("select[name=vendor]", label="Fleetfix Services")
    page.wait_for_url("**vendor=*")  # htmx pushed the filter into the URL
    page.wait_for_function("() => document.querySelectorAll('#portfolio tbody tr').length === 3")
    references = page.locator("#portfolio tbody tr td:first-child strong").all_inner_texts()
    assert sorted(references) == ["NW-FAC-001", "NW-FLT-001", "NW-FLT-002"]

    page.click("#portfolio a:has-text('NW-FLT-001')")
    page.wait_for_selector(".chart .main-svg")
    charts = page.locator(".chart")
    assert charts.count() == 5
    # Every chart has its three tier bands drawn (filled areas) behind the value line.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".every(c => c.querySelectorAll('.js-fill').length >= 3)"
    )


@pytest.mark.django_db(transaction=True)
def test_vendor_user_sees_only_their_contracts(page):
    seed()
    login(page, "vera")
    assert page.url.endswith("/o/northwind/submissions/")  # a vendor user lands on their data
    page.click("nav >> text=Portfolio")
    references = page.locator("#portfolio tbody tr td:first-child strong").all_inner_texts()
    assert sorted(references) == ["NW-FAC-001", "NW-FLT-001", "NW-FLT-002"]
    assert page.locator("text=New contract").count() == 0


@pytest.mark.django_db(transaction=True)
def test_vendor_uploads_fixes_an_error_confirms_and_sees_the_new_colour(page, tmp_path):
    seed()
    login(page, "dana")  # Datastream Networks: its colocation temperature KPI is late
    page.click("nav >> text=Data")
    with page.expect_download() as download:
        page.click("#download-csv")  # the month just ended, picked by default
    template = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    header = template[0]
    row = next(line for line in template if line.startswith("NW-NET-002,temp,"))
    cells = row.split(",")

    cells[3] = "abc"
    bad = tmp_path / "temp-bad.csv"
    bad.write_text("\n".join([header, ",".join(cells)]) + "\n")
    page.set_input_files("input[type=file]", str(bad))
    page.click("text=Upload and check")
    page.wait_for_selector("#submission-status[data-state=invalid]")
    error = page.locator("#errors tr.error-row").first.inner_text()
    sla = "NW-NET-002 · temp Temperature excursions"  # each error names its row's SLA
    assert error.split("\t")[:4] == ["2", sla, "value", "abc"]
    assert "'abc' is not a number." in error

    # The corrected file goes in right on the error page.
    cells[3] = "1"
    good = tmp_path / "temp-good.csv"
    good.write_text("\n".join([header, ",".join(cells)]) + "\n")
    page.set_input_files("#corrected-file", str(good))
    page.click("#upload-corrected button[type=submit]")
    page.wait_for_selector("#submission-status[data-state=ready]")
    assert "Green" in page.locator("#new-rows").inner_text()
    page.click("#confirm")
    page.wait_for_selector("#submission-status[data-state=applied]")

    page.goto(f"{page.base}/o/northwind/")
    page.click("#portfolio a:has-text('NW-NET-002')")
    row = page.locator("table.data tr", has_text="Temperature excursions")
    assert "Green" in row.inner_text()


@pytest.mark.django_db(transaction=True)
def test_vendor_uploads_a_workbook_that_killed_its_reader_reads_why_and_discards_it(page, tmp_path):
    from metrics.ingest import worst_cases

    seed()
    login(page, "vera")
    page.click("nav >> text=Data")
    (case,) = worst_cases.cases(["value_at_xfd1048576"])
    far = tmp_path / "far.xlsx"
    far.write_bytes(case.data)
    page.set_input_files("input[type=file]", str(far))
    page.click("text=Upload and check")
    page.wait_for_selector("#submission-status[data-state=invalid]")
    assert "Cell XFD1048576" in page.locator("#errors").inner_text()
    # Discarding asks first: dismissed, nothing happens; accepted, the submission goes.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#discard")
    assert asked
    assert asked[0].startswith("Discard submission #")
    assert page.get_attribute("#submission-status", "data-state") == "invalid"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#discard")
    page.wait_for_selector("#submission-status[data-state=discarded]")
    assert "nothing from this file was stored" in page.inner_text("main")
    # The server lives on: the next page answers.
    page.click("text=Data submissions")
    assert "Discarded" in page.inner_text("main")


@pytest.mark.django_db(transaction=True)
def test_account_manager_records_the_meeting_an_escalation_asks_for(page):
    seed()
    login(page, "bob")
    page.click("nav >> text=Escalations")
    page.fill("input[name=level]", "1")
    page.dispatch_event("input[name=level]", "change")
    page.wait_for_url("**level=1*")
    page.wait_for_selector("#escalations tbody tr[data-escalation]")
    first = page.locator("#escalations tbody tr[data-escalation]").first
    assert "L1" in first.inner_text()
    first.locator("a").first.click()
    page.wait_for_selector("#meeting-form")
    assert "48" in page.inner_text("body")  # "meet within 48 hours"
    page.fill("#id_attendees", "Bob Brennan (Northwind)\nVictor Vogel (Bluebird IT)")
    page.fill("#id_notes", "Backlog plan agreed: two extra agents from Monday.")
    page.click("#meeting-form button[type=submit]")
    page.wait_for_selector("#timeline li[data-kind=meeting]")
    assert "The due-by is met" in page.inner_text("#timeline")
    assert "met" in page.inner_text("#due")


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db(transaction=True)
def test_charts_and_htmx_work_under_the_content_security_policy(page):
    seed()
    login(page, "bob")
    contract = page.goto(f"{page.base}/o/northwind/")
    policy = _csp(contract)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    page.type("input[name=q]", "FLT")  # htmx on keyup
    page.wait_for_url("**q=FLT*")
    page.wait_for_function("() => document.querySelectorAll('#portfolio tbody tr').length === 2")
    page.select_option("select[name=vendor]", label="Fleetfix Services")  # htmx on change
    page.wait_for_url("**vendor=*")
    page.click("#portfolio a:has-text('NW-FLT-001')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".every(c => c.querySelector('.main-svg') && c.querySelectorAll('.js-fill').length >= 3)"
    )
    assert page.locator(".chart .main-svg").count() >= 5
    page.click("table.data a:has-text('mttr')")  # the SLA page has its own chart
    page.wait_for_selector(".chart .main-svg")
    page.wait_for_timeout(300)  # a late violation report still arrives before the check


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_works_under_the_content_security_policy(page):
    seed()
    login(page, "bob")
    docs = page.goto(f"{page.base}/api/v1/docs/")
    assert "'unsafe-inline'" not in _csp(docs)["script-src"]
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 10
    page.wait_for_timeout(300)


@pytest.mark.django_db(transaction=True)
def test_redoc_works_under_the_content_security_policy(page):
    seed()
    login(page, "bob")
    page.goto(f"{page.base}/api/v1/redoc/")
    page.wait_for_selector("#redoc-container h1", timeout=30_000)
    assert "slagov API" in page.inner_text("#redoc-container h1")
    page.wait_for_timeout(300)
    # Redoc's "API docs by Redocly" logo comes from its CDN: blocked, as it should be.
    page.errors[:] = [e for e in page.errors if "cdn.redoc.ly" not in e]


@pytest.mark.django_db(transaction=True)
def test_django_admin_works_under_the_content_security_policy(page):
    from django.contrib.auth import get_user_model

    seed()
    get_user_model().objects.create_superuser("root", "root@example.com", DEMO_PASSWORD)
    missing: list[str] = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    page.goto(f"{page.base}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.goto(f"{page.base}/admin/contracts/contract/")
    page.wait_for_selector("#result_list")
    page.click("#result_list tbody tr th a")
    page.wait_for_selector("#contract_form")
    page.wait_for_timeout(300)
    # The admin's pages name no icon, so the browser asks for /favicon.ico: not a CSP matter.
    assert {url.rsplit("/", 1)[-1] for url in missing} <= {"favicon.ico"}
    page.errors[:] = [e for e in page.errors if "status of 404" not in e]
