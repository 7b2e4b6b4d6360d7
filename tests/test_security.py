"""
What keeps one member's view, one vendor's facts and one address's guesses where
they belong: customer-only facts, acknowledge links, duplicate contacts, lock-outs,
the Content-Security-Policy, private caching, the demo seed and the HTTPS settings.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from contracts import services as contract_services
from contracts.governance import recommend_mode
from contracts.models import Contract, VendorContact
from escalations import notify
from slagov.models import Membership
from slagov.services import api_token_create
from slagov.tenancy import tenant_scope
from tests import factories
from tests.conftest import World
from tests.test_access import TENANT_ROUTES
from tests.test_escalations import NOW
from tests.test_escalations import World as EscalationWorld

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
NOTE = "keep the pressure on: renegotiation leverage"
ADVERSARIAL_REASON = "the relationship is flagged as adversarial: enforce strictly"


# --- Customer-only facts -------------------------------------------------------------------


def _make_adversarial(contract) -> None:
    with scopes_disabled():
        Contract.objects.filter(pk=contract.pk).update(adversarial=True, notes=NOTE)


def _texts(response) -> str:
    """Everything a response carries, files included (an .xlsx is a zip of XML parts)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return body.decode("utf-8", "replace")


def _leaks(text: str, reasons: tuple[str, ...] = ()) -> list[str]:
    """Customer-only facts found in the text: the flag, the notes, the recommendation's reasons."""
    lowered = text.lower()
    phrases = ("adversarial", NOTE.lower(), "enforce strictly", *(r.lower() for r in reasons))
    return [p for p in phrases if p in lowered]


def _reasons(contract) -> tuple[str, ...]:
    with scopes_disabled():
        return tuple(Contract.objects.get(pk=contract.pk).recommendation().reasons)


def test_vendor_user_sees_no_customer_only_fact_on_any_page_partial_file_or_api(
    client, world: World
):
    _make_adversarial(world.mine.contract)
    reasons = _reasons(world.mine.contract)
    assert ADVERSARIAL_REASON in reasons
    client.force_login(world.vic)
    seen = 0
    for route in TENANT_ROUTES:
        url = route.url(world.org.slug, world.mine)
        variants = [({}, {}), ({}, {"HTTP_HX_REQUEST": "true"})]  # the page and its partial
        if route.name == "metrics:vendor_template":
            variants.append(({"format": "csv"}, {}))
        for params, headers in variants:
            response = client.get(url, params, **headers)
            assert response.status_code < 500, f"{route.name} → {response.status_code}"
            if response.status_code == 200:
                seen += 1
                leaks = _leaks(_texts(response), reasons)
                assert not leaks, f"{route.name} {params} {headers}: {leaks}"
    assert seen > 30  # the sweep did read the pages, not only refusals

    contract_page = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    ).content.decode()
    assert "Governance: Compliance" in contract_page  # the mode in force, as in the API
    assert 'id="recommendation"' not in contract_page


def test_vendor_token_sees_no_customer_only_fact_in_the_api(world: World):
    _make_adversarial(world.mine.contract)
    _, key = api_token_create(
        organization=world.org, actor=world.vic, membership=world.vic.memberships.get(), name="x"
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for route in TENANT_ROUTES:
        if route.is_api:
            response = api.get(route.url(world.org.slug, world.mine))
            assert not _leaks(_texts(response), _reasons(world.mine.contract)), route.name


@pytest.mark.parametrize("who", ["bob", "alice", "lena"])
def test_customer_side_sees_the_adversarial_flag_and_its_reason(client, world: World, who):
    _make_adversarial(world.mine.contract)
    client.force_login(getattr(world, who))
    page = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    ).content.decode()
    assert ADVERSARIAL_REASON in page
    assert "adversarial relationship" in page
    assert 'id="recommendation"' in page


def test_the_reason_shown_to_the_customer_is_the_one_the_rule_gives():
    reasons = recommend_mode(
        annual_value=Decimal("500000"), currency="EUR", threshold=Decimal("50000"),
        threshold_currency="EUR", start=date(2026, 1, 1), end=date(2028, 12, 31),
        is_commodity=False, adversarial=True,
    ).reasons  # fmt: skip
    assert reasons == [ADVERSARIAL_REASON]


def test_escalation_emails_to_the_vendor_side_carry_no_customer_only_fact():
    w = EscalationWorld()
    with scopes_disabled():
        # Adversarial, but run proactively by choice: level 1 goes to the vendor's contacts.
        Contract.objects.filter(pk=w.contract.pk).update(
            adversarial=True, notes=NOTE, governance_mode="proactive"
        )
    w.read(date(2026, 9, 1), "99.95")
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    assert notify.send_pending() >= 2
    assert "ops@vendor.example" in [m.to[0] for m in mail.outbox]
    for message in mail.outbox:
        parts = [message.subject, message.body, *(body for body, _ in message.alternatives)]
        assert not _leaks("\n".join(parts), _reasons(w.contract)), message.to


# --- Acknowledge links ---------------------------------------------------------------------


def _ack_link():
    w = EscalationWorld()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    with scopes_disabled():
        notification = w.escalations()[0].notifications.get(email="lena@example.com")
    return w, reverse("escalation_ack", args=[notify.ack_token(notification)])


def _other_vendor_user(w):
    other = factories.VendorFactory(organization=w.org, name="Other vendor")
    olly = factories.UserFactory(username="olly")
    factories.MembershipFactory(organization=w.org, user=olly, role="vendor", vendor=other)
    return olly


def _other_org_admin():
    charlie = factories.UserFactory(username="charlie")
    factories.MembershipFactory(
        organization=factories.OrganizationFactory(slug="elsewhere"), user=charlie, role="admin"
    )
    return charlie


@pytest.mark.parametrize("outsider", ["other vendor's user", "other organisation's admin"])
def test_acknowledge_link_is_404_for_a_signed_in_user_who_cannot_see_the_escalation(
    client, outsider
):
    w, url = _ack_link()
    user = _other_vendor_user(w) if outsider.startswith("other vendor") else _other_org_admin()
    client.force_login(user)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    (escalation,) = w.escalations()
    assert (escalation.state, escalation.acknowledged_by) == ("open", None)
    client.logout()  # the link was not spent: its recipient can still use it
    assert client.post(url).status_code == 200
    (escalation,) = w.escalations()
    assert (escalation.state, escalation.acknowledged_by) == ("acknowledged", w.lena)


def test_acknowledge_link_credits_a_signed_in_member_who_can_see_it(client):
    w, url = _ack_link()
    client.force_login(w.bob)
    assert client.post(url).status_code == 200
    (escalation,) = w.escalations()
    assert (escalation.state, escalation.acknowledged_by) == ("acknowledged", w.bob)


def test_acknowledge_link_credits_the_vendors_own_user(client):
    w, url = _ack_link()
    vera = factories.UserFactory(username="vera")
    factories.MembershipFactory(
        organization=w.org, user=vera, role="vendor", vendor=w.contract.vendor
    )
    client.force_login(vera)
    assert client.post(url).status_code == 200
    (escalation,) = w.escalations()
    assert escalation.acknowledged_by == vera


def test_acknowledge_link_is_404_for_a_member_whose_membership_ended(client):
    w, url = _ack_link()
    Membership.objects.filter(user=w.bob).update(is_active=False)
    client.force_login(w.bob)
    assert client.post(url).status_code == 404
    assert w.escalations()[0].state == "open"


# --- Duplicate vendor contacts ---------------------------------------------------------------


def test_adding_a_contact_whose_email_the_vendor_has_is_a_field_error(client, world: World):
    existing = world.mine.contact.email
    client.force_login(world.bob)
    url = reverse("contracts:contact_create", args=[world.org.slug, world.mine.vendor.pk])
    response = client.post(url, {"name": "Again", "email": existing.upper()})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "email": ["This vendor already has a contact with this e-mail address."]
    }
    with scopes_disabled():
        assert VendorContact.objects.filter(vendor=world.mine.vendor).count() == 1


def test_the_same_email_at_another_vendor_is_fine(client, world: World):
    client.force_login(world.bob)
    url = reverse("contracts:contact_create", args=[world.org.slug, world.theirs.vendor.pk])
    response = client.post(url, {"name": "Shared", "email": world.mine.contact.email})
    assert response.status_code == 302


def test_contact_service_refuses_a_duplicate_email_whatever_its_case(world: World):
    with tenant_scope(world.org), pytest.raises(ValidationError) as refused:
        contract_services.vendor_contact_save(
            organization=world.org, actor=world.bob, vendor=world.mine.vendor,
            data={"name": "Twin", "email": world.mine.contact.email.title()},
        )  # fmt: skip
    assert list(refused.value.message_dict) == ["email"]


# --- Lock-outs --------------------------------------------------------------------------------


def _try(client, username: str, password: str, address: str):
    return client.post(
        reverse("login"), {"login": username, "password": password}, REMOTE_ADDR=address
    )


def _logged_in(response) -> bool:
    return response.status_code == 302


def test_a_username_is_locked_from_one_address_after_eight_failures(client, world: World):
    for _ in range(8):
        _try(client, "alice", "wrong-password", "203.0.113.7")
    locked = _try(client, "alice", factories.PASSWORD, "203.0.113.7")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert _logged_in(_try(client, "bob", factories.PASSWORD, "203.0.113.7"))
    client.logout()
    assert _logged_in(_try(client, "alice", factories.PASSWORD, "198.51.100.9"))


def test_an_address_trying_many_usernames_is_locked_for_all_of_them(client, world: World, settings):
    # Fewer failures per username than the username lock needs, across many usernames.
    usernames = [f"guess{i}" for i in range(10)] + ["alice", "lena"]
    for username in usernames:
        for _ in range(3):
            _try(client, username, "Winter2026!", "203.0.113.8")
    assert 3 * len(usernames) >= settings.AXES_IP_FAILURE_LIMIT
    # Right password, never tried before from there: the address is locked.
    assert _try(client, "bob", factories.PASSWORD, "203.0.113.8").status_code == 429
    # Elsewhere the same accounts still work, and after the cool-off so does the address.
    assert _logged_in(_try(client, "bob", factories.PASSWORD, "198.51.100.10"))
    client.logout()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert _logged_in(_try(client, "bob", factories.PASSWORD, "203.0.113.8"))


def test_a_few_failures_from_a_shared_office_address_lock_nobody_else(client, world: World):
    for username in ("alice", "lena", "vic"):
        for _ in range(2):
            _try(client, username, "typo", "192.0.2.1")
    assert _logged_in(_try(client, "bob", factories.PASSWORD, "192.0.2.1"))


def test_behind_the_proxy_the_address_is_the_one_it_appended(client, world: World, settings):
    settings.BEHIND_TLS_PROXY = True
    for i in range(settings.AXES_IP_FAILURE_LIMIT):
        # Each guess forges another left-hand address; the proxy appends the real one.
        client.post(
            reverse("login"),
            {"login": f"guess{i}", "password": "x"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.9",
        )
    locked = client.post(
        reverse("login"),
        {"login": "bob", "password": factories.PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert locked.status_code == 429
    other_client = client.post(
        reverse("login"),
        {"login": "bob", "password": factories.PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.11",
    )
    assert _logged_in(other_client)  # the same proxy, another client: not locked


# --- Content-Security-Policy and caching -------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_pages_carry_a_policy_without_inline_or_eval_scripts(client, world: World):
    client.force_login(world.bob)
    for url in (
        reverse("contracts:portfolio", args=[world.org.slug]),
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk]),
        reverse("login"),
    ):
        policy = _policy(client.get(url))
        assert policy["script-src"] == ["'self'"], url  # no nonce: nothing inline asked for one
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]


def test_swagger_ui_start_up_script_runs_under_the_request_nonce(client, world: World):
    client.force_login(world.bob)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    nonce = next(v for v in _policy(response)["script-src"] if v.startswith("'nonce-"))
    html = response.content.decode()
    assert f'<script nonce="{nonce[7:-1]}">' in html
    assert html.count("<script>") == 0


def test_every_response_to_a_signed_in_user_is_private_and_not_stored(client, world: World):
    client.force_login(world.vic)
    for url in (
        reverse("contracts:portfolio", args=[world.org.slug]),
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk]),
        reverse("metrics:submission", args=[world.org.slug, world.mine.submission.pk]),
        reverse("organizations"),
        reverse("api:contract-list", args=[world.org.slug]),
    ):
        response = client.get(url)
        cache_control = {v.strip() for v in response.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= cache_control, url
        assert "public" not in cache_control


def test_api_token_responses_are_private_and_not_stored(world: World):
    _, key = api_token_create(
        organization=world.org, actor=world.vic, membership=world.vic.memberships.get(), name="y"
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get(reverse("api:contract-list", args=[world.org.slug]))
    assert response.status_code == 200
    assert {"private", "no-store"} <= {v.strip() for v in response["Cache-Control"].split(",")}


def test_static_files_and_anonymous_pages_stay_cacheable(client, world: World):
    assert "no-store" not in client.get(reverse("healthz")).get("Cache-Control", "")
    client.force_login(world.bob)
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


# --- The demo seed ------------------------------------------------------------------------------


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refusing"):
        call_command("seed_demo", stdout=io.StringIO())
    with scopes_disabled():
        assert not Contract.objects.exists()


def test_forced_seed_without_debug_creates_no_superuser_and_debug_seed_does(settings):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    settings.DEBUG = False
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--force", stdout=out)
    assert not users.filter(is_superuser=True).exists()
    assert "operator" not in out.getvalue()
    assert users.filter(username="bob").exists()
    settings.DEBUG = True
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=out)
    assert list(users.filter(is_superuser=True).values_list("username", flat=True)) == ["operator"]
    assert "operator" in out.getvalue()


def test_make_run_seeds_with_debug_on():
    lines = (ROOT / "Makefile").read_text().splitlines()
    seed = next(line.strip() for line in lines if "manage.py seed_demo" in line)
    assert seed.startswith("DEBUG=$${DEBUG:-true} ")


# --- HTTPS settings and the health check ---------------------------------------------------------


def test_health_check_answers_200_with_the_tls_redirect_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
    redirected = client.get(reverse("login"))
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_compose_web_with_its_security_settings_passes_its_own_health_check(tmp_path):
    import yaml

    from tests import test_deploy as deploy

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app_env = compose["x-app"]["environment"]
    security = {}
    for name in (
        "BEHIND_TLS_PROXY",
        "SECURE_SSL_REDIRECT",
        "SECURE_COOKIES",
        "SECURE_HSTS_SECONDS",
    ):
        value = str(app_env[name])
        # "${NAME:-default}" is what compose reads when nothing overrides it.
        assert value.startswith("${"), name
        assert ":-" in value, name
        security[name] = value.split(":-", 1)[1].rstrip("}")
    assert security["SECURE_SSL_REDIRECT"] == security["SECURE_COOKIES"] == "true"
    assert int(security["SECURE_HSTS_SECONDS"]) >= 31536000

    port = deploy._free_port()
    argv = deploy._command("web")
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    log = tmp_path / "gunicorn.log"
    process = deploy._start(argv, deploy._env(**security), log)
    healthcheck = [
        sys.executable if part == "python" else part.replace(":8000/", f":{port}/")
        for part in compose["services"]["web"]["healthcheck"]["test"][1:]
    ]

    def healthy() -> bool:
        return (
            subprocess.run(healthcheck, capture_output=True, timeout=10, check=False).returncode
            == 0
        )

    try:
        deploy._wait_for(healthy, 60, "the compose health check", log)
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/login/")
        plain = conn.getresponse()
        plain.read()
        assert plain.status == 301
        assert plain.getheader("Location").startswith("https://")
        conn.request("GET", "/login/", headers={"X-Forwarded-Proto": "https"})
        secure = conn.getresponse()
        secure.read()
        assert secure.status == 200
        assert secure.getheader("Strict-Transport-Security").startswith("max-age=31536000")
        assert "Secure" in secure.getheader("Set-Cookie")
        assert "script-src 'self'" in secure.getheader("Content-Security-Policy")
        conn.close()
    finally:
        deploy._stop(process)
