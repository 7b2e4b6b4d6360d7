"""
Accounts in real Chromium, under the app's Content-Security-Policy (a violation
fails the test): a forgotten password reset through a mail read from an SMTP
server on loopback, and an admin whose organisation requires two-factor sign-in
walked through enrolment at sign-in, then signing in with a code.
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
)

from slagov.accounts import current_counter
from slagov.demo import DEMO_PASSWORD, seed
from tests.test_browser import browser, login, page  # noqa: F401 (fixtures)
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, current_counter()))


def _smtp_settings(settings, inbox, base: str) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", inbox.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = base


# fmt: off
@pytest.mark.django_db(transaction=True)
def test_a_forgotten_password_is_reset_by_mail_and_the_old_one_stops_working(
    page, smtp, settings  # noqa: F811 (fixtures)
):
    # fmt: on
    _smtp_settings(settings, smtp, page.base)
    seed()
    page.goto(f"{page.base}/login/")
    page.click("#forgot")
    page.fill("input[name=email]", "carol@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/password/reset/done/")
    _wait_for(lambda: smtp.to("carol@example.com"), 30, "the reset e-mail")
    # (the demo's story also mailed Carol, its escalations: the reset is the one with a key)
    _wait_for(lambda: [m for m in smtp.to("carol@example.com") if "eset" in m["Subject"]], 30,
              "the reset e-mail")  # fmt: skip
    (message,) = [m for m in smtp.to("carol@example.com") if "eset" in m["Subject"]]
    assert message["Subject"].startswith("[slagov]")
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"http://\S+/password/reset/key/\S+", text)
    page.goto(link)
    page.fill("input[name=password1]", "carol's new phrase 9")
    page.fill("input[name=password2]", "carol's new phrase 9")
    page.click("main button[type=submit]")
    page.wait_for_url("**/password/reset/key/done/")
    page.goto(f"{page.base}/login/")
    page.fill("#id_login", "carol")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("#login-errors").count() == 1  # the old password: refused
    page.fill("#id_login", "carol@example.com")  # the address works as well as the name
    page.fill("#id_password", "carol's new phrase 9")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{page.base}/o/northwind/")


# fmt: off
@pytest.mark.django_db(transaction=True)
def test_an_admin_required_to_use_two_factor_enrols_at_sign_in_and_then_needs_a_code(
    page  # noqa: F811 (fixture)
):
    # fmt: on
    seed()
    login(page, "alice")
    page.click("nav >> text=Members")
    page.wait_for_url("**/settings/members/")
    page.check("input[name=mfa_required][value=admins]")
    page.click("#security-form button[type=submit]")
    page.wait_for_selector("text=enrols at their next sign-in")
    page.click("text=Sign out")
    page.goto(f"{page.base}/login/")
    page.fill("#id_login", "alice")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    # Sent to enrol: the password once more (django-allauth asks before a 2FA change).
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/totp/activate/")
    assert page.locator("img[src^='data:image/svg+xml']").count() == 1  # the QR code
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", _code(secret))
    page.click("main button[type=submit]")
    page.goto(f"{page.base}/o/northwind/")
    assert page.url == f"{page.base}/o/northwind/"  # enrolled: free to go
    page.click("text=Sign out")
    page.goto(f"{page.base}/login/")
    page.fill("#id_login", "alice")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/authenticate/")
    page.fill("input[name=code]", _code(secret))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{page.base}/o/northwind/")


# fmt: off
@pytest.mark.django_db(transaction=True)
def test_a_security_key_is_added_and_then_signs_in_as_the_second_factor(
    page, settings  # noqa: F811 (fixtures)
):
    # fmt: on
    """A WebAuthn key in Chromium's virtual authenticator (http://localhost is allowed here)."""
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    seed()
    base = page.base.replace("127.0.0.1", "localhost")  # a key's relying party is a name, not an IP
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})  # fmt: skip
    page.goto(f"{base}/login/")
    page.fill("#id_login", "carol")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/o/**")
    page.goto(f"{base}/accounts/2fa/webauthn/add/")
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/webauthn/add/")
    page.fill("input[name=name]", "Carol's key")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    from allauth.mfa.models import Authenticator

    assert Authenticator.objects.filter(user__username="carol", type="webauthn").count() == 1
    page.click("text=Sign out")
    page.goto(f"{base}/login/")
    page.fill("#id_login", "carol")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/authenticate/")
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(f"{base}/o/**")
