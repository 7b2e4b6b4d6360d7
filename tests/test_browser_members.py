"""
An admin onboards and offboards a vendor user in real Chromium: the invitation
travels through the outbox to an SMTP server on loopback, its link sets a
password, the new user sees only their vendor, and deactivation stops their
open session and their API token at once.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from slagov.demo import seed
from tests.test_browser import browser, login, page  # noqa: F401 (fixtures)
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _api_status(base: str, key: str) -> int:
    request = urllib.request.Request(  # noqa: S310 (http on loopback)
        f"{base}/api/v1/o/northwind/contracts/", headers={"Authorization": f"Token {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# fmt: off
@pytest.mark.django_db(transaction=True)
def test_admin_invites_a_vendor_user_who_joins_and_is_then_deactivated(
    page, browser, smtp, settings  # noqa: F811 (fixtures)
):
    # fmt: on
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = page.base
    seed()
    login(page, "alice")
    page.click("nav >> text=Members")
    page.fill("#id_email", "nina@fleetfix.example")
    page.select_option("#id_role", "vendor")
    page.select_option("#id_vendor", label="Fleetfix Services")
    page.click("text=Send the invitation")
    page.wait_for_selector("#invitations [data-invitation='nina@fleetfix.example']")

    _wait_for(lambda: smtp.to("nina@fleetfix.example"), 30, "the invitation e-mail")
    (message,) = smtp.to("nina@fleetfix.example")
    assert "invited to Northwind" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    (link,) = set(re.findall(r"http://\S+/invite/\S+/", text))

    newcomer = browser.new_context(viewport={"width": 390, "height": 844})  # on her phone
    nina = newcomer.new_page()
    nina.goto(link)
    nina.fill("#id_first_name", "Nina")
    nina.fill("#id_last_name", "Novak")
    nina.fill("#id_password1", "fleet and far 2026")
    nina.fill("#id_password2", "fleet and far 2026")
    nina.click("text=Choose the password and join")
    nina.wait_for_url("**/o/northwind/submissions/")
    nina.goto(f"{page.base}/o/northwind/")
    shown = nina.locator("main").inner_text()
    assert "NW-FLT-001" in shown
    assert "NW-ITO-001" not in shown  # another vendor's contract
    nina.goto(f"{page.base}/o/northwind/settings/tokens/")
    nina.fill("#id_name", "export job")
    nina.click("text=Create token")
    key = nina.inner_text("#new-key-value").strip()
    assert _api_status(page.base, key) == 200

    # The admin deactivates her: the open session and the token stop at once.
    page.goto(f"{page.base}/o/northwind/settings/members/")
    page.click("#members a:has-text('Nina Novak')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deactivate")
    page.wait_for_selector("#member-state:has-text('Deactivated')")
    nina.goto(f"{page.base}/o/northwind/")
    assert "/login/" in nina.url
    assert _api_status(page.base, key) == 401
    newcomer.close()
