"""
Accessibility and small screens in real Chromium, on the demo data: axe-core on
every main page as each role, each page at a phone's 390 px without sideways
scrolling, the folded menu, the keyboard's way in (skip link, focus ring), and
the confirm dialogs and copy button that run from a local script under the CSP.
"""

from __future__ import annotations

from collections import Counter

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django_scopes import scopes_disabled

from slagov.demo import seed
from tests.test_browser import browser, login, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
FAILING = {"serious", "critical"}


def main_pages(role: str) -> dict[str, str]:
    """The main pages of the Northwind demo, as `role` reaches them (a vendor: Fleetfix's)."""
    from contracts.models import Contract, Vendor
    from escalations.models import Escalation
    from reviews.models import Review

    with scopes_disabled():
        contract = Contract.objects.get(reference="NW-FLT-001")
        sla = contract.service_levels.get(code="mttr")
        escalation = Escalation.objects.filter(contract=contract, state="open").first()
        held = Review.objects.filter(contract=contract, held_at__isnull=False).first()
        planned = Review.objects.filter(contract=contract, state="planned").first()
        vendor = Vendor.objects.get(pk=contract.vendor_id)
    o = "/o/northwind"
    pages = {
        "portfolio": f"{o}/",
        "contract": f"{o}/contracts/{contract.pk}/",
        "sla": f"{o}/slas/{sla.pk}/",
        "escalations": f"{o}/escalations/",
        "escalation": f"{o}/escalations/{escalation.pk}/",
        "leadership": f"{o}/leadership/",
        "reviews": f"{o}/reviews/",
        "review held": f"{o}/reviews/{held.pk}/",
        "review planned": f"{o}/reviews/{planned.pk}/",
        "action items": f"{o}/actions/",
        "vendor warnings": f"{o}/warnings/",
        "data": f"{o}/submissions/",
        "vendor": f"{o}/vendors/{vendor.pk}/",
        "policy": f"{o}/settings/escalation-policy/",
        "tokens": f"{o}/settings/tokens/",
        "numbers help": f"{o}/help/numbers/",
    }
    if role == "vera":  # vendor users see neither the leadership view nor the policy
        del pages["leadership"], pages["policy"]
    if role == "alice":  # an admin's own pages
        pages["members"] = f"{o}/settings/members/"
        pages["audit log"] = f"{o}/settings/audit/"
    pages["account"] = "/account/"
    pages["sessions"] = "/accounts/sessions/"
    return pages


ROLES = ["bob", "lena", "alice", "vera"]  # account manager, leadership, admin, vendor user


def open_page(tab, path: str) -> None:
    response = tab.goto(tab.base + path)
    assert response.status == 200, path
    if tab.locator("[data-figure]").count():
        tab.wait_for_function(
            "() => [...document.querySelectorAll('[data-figure]')]"
            ".every(c => c.querySelector('.main-svg'))"
        )


def axe_violations(tab) -> list[dict]:
    tab.evaluate(AXE_SCRIPT)  # through the DevTools protocol: the page's CSP doesn't apply
    result = tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


@pytest.mark.django_db(transaction=True)
def test_no_main_page_has_a_serious_or_critical_axe_violation_for_any_role(page):  # noqa: F811
    seed()
    found: dict[str, list[str]] = {}
    impacts: Counter = Counter()
    for role in ROLES:
        page.context.clear_cookies()
        login(page, role)
        for name, path in main_pages(role).items():
            open_page(page, path)
            for violation in axe_violations(page):
                impacts[violation["impact"]] += 1
                if violation["impact"] in FAILING:
                    targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
                    found.setdefault(f"{role} {name}", []).append(
                        f"{violation['id']} ({violation['impact']}): {targets}"
                    )
    print("axe violations by impact:", dict(impacts))
    assert not found, found


@pytest.mark.django_db(transaction=True)
def test_every_main_page_fits_a_390px_phone_without_sideways_scrolling(page):  # noqa: F811
    seed()
    page.set_viewport_size(PHONE)
    wide: dict[str, int] = {}
    for role in ROLES:
        page.context.clear_cookies()
        login(page, role)
        for name, path in main_pages(role).items():
            open_page(page, path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide[f"{role} {name}"] = width
    assert not wide, wide


@pytest.mark.django_db(transaction=True)
def test_the_menu_folds_on_a_phone_and_opens_to_every_link(page):  # noqa: F811
    seed()
    login(page, "bob")
    data = page.locator("header nav a", has_text="Data")
    assert data.is_visible()  # a wide screen shows the links
    assert not page.locator("details.menu > summary").is_visible()

    page.set_viewport_size(PHONE)
    assert not data.is_visible()
    menu = page.locator("details.menu > summary")
    assert menu.is_visible()
    assert menu.inner_text().strip() == "Menu"
    menu.click()
    assert data.is_visible()
    assert page.locator("header nav button", has_text="Sign out").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    data.click()
    page.wait_for_url("**/submissions/")
    assert not page.locator("header nav a", has_text="Data").is_visible()  # folded again


def contrast(first: str, second: str) -> float:
    def luminance(rgb: str) -> float:
        channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.django_db(transaction=True)
def test_keyboard_users_skip_to_content_and_see_where_focus_is(page):  # noqa: F811
    seed()
    login(page, "bob")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("a => a === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the first link or button of the page itself
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,"
        " getComputedStyle(document.documentElement).backgroundColor]; }"
    )
    style, width, colour, background = ring
    assert background == "rgb(255, 255, 255)"  # the page under the ring
    assert style == "solid"
    assert width >= 2
    assert contrast(colour, background) >= 3


@pytest.mark.django_db(transaction=True)
def test_a_new_token_can_be_copied_and_revoking_one_asks_first(page):  # noqa: F811
    from slagov.models import ApiToken

    seed()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "bob")
    page.goto(f"{page.base}/o/northwind/settings/tokens/")
    page.fill("#id_name", "Fleet reporting")
    assert page.locator("#id_membership option").count() == 1  # bob himself: nothing to choose
    page.click("main button[type=submit]:has-text('Create token')")
    key = page.inner_text("#new-key-value").strip()
    page.click("#copy-key")
    page.wait_for_selector("#copy-status:has-text('Copied.')")
    assert page.evaluate("() => navigator.clipboard.readText()") == key

    row = page.locator("tr", has_text="Fleet reporting")
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    row.locator("button:has-text('Revoke')").click()
    page.wait_for_timeout(300)
    assert questions == ["Revoke the token “Fleet reporting”? Whatever uses it is refused from "
                         "now on; this can't be undone."]  # fmt: skip
    with scopes_disabled():
        assert ApiToken.objects.get(name="Fleet reporting").revoked_at is None
    page.once("dialog", lambda d: d.accept())
    row.locator("button:has-text('Revoke')").click()
    page.wait_for_selector("tr:has-text('Fleet reporting') >> text=revoked")
    with scopes_disabled():
        assert ApiToken.objects.get(name="Fleet reporting").revoked_at is not None


@pytest.mark.django_db(transaction=True)
def test_resolving_an_escalation_by_hand_asks_first(page):  # noqa: F811
    from escalations.models import Escalation

    seed()
    login(page, "bob")
    escalation_path = main_pages("bob")["escalation"]
    page.goto(page.base + escalation_path)
    page.fill("#resolve-form textarea[name=note]", "Known risk: accepted.")
    page.once("dialog", lambda d: d.dismiss())
    page.click("#resolve-form button[type=submit]")
    page.wait_for_timeout(300)
    pk = int(escalation_path.rstrip("/").rsplit("/", 1)[1])
    with scopes_disabled():
        assert Escalation.objects.get(pk=pk).state == "open"
    page.once("dialog", lambda d: d.accept())
    page.click("#resolve-form button[type=submit]")
    page.wait_for_selector("text=Resolved.")
    with scopes_disabled():
        assert Escalation.objects.get(pk=pk).state == "resolved"
