"""
Shared fixtures. In CI (CI=true) the suite refuses to run without the real
services: PostgreSQL, Redis and Chromium are required, never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings

from metrics import engine
from metrics.ingest.pipeline import submission_receive
from slagov.celery import app as celery_app
from slagov.models import Membership, Organization
from slagov.services import api_token_create
from tests import factories, ingest_world

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 3
        ):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    if not CI:
        return
    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append("DATABASE_URL must point at PostgreSQL in CI")
    elif not _reachable(os.environ["DATABASE_URL"], 5432):
        problems.append("PostgreSQL is not reachable")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        problems.append("REDIS_URL must be set in CI")
    elif not _reachable(redis_url, 6379):
        problems.append("Redis is not reachable")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        problems.append(f"Chromium is missing at {CHROMIUM}")
    if problems:
        pytest.exit("CI needs the real services: " + "; ".join(problems), returncode=3)


def require_service(name: str, available: bool) -> None:
    """Skip locally when a service is absent; in CI that is a failure."""
    if available:
        return
    if CI:
        pytest.fail(f"{name} is required in CI")
    pytest.skip(f"{name} not configured (set it to run this test locally)")


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Unit tests run tasks in-process; integration tests start a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()  # the in-memory cache outlives a test: no throttle counts carried over
    # Password hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Side:
    """One vendor's objects inside an organisation."""

    vendor: object
    contract: object
    sla: object
    terms: object
    reading: object
    contact: object
    token: object = None
    submission: object = None
    escalation: object = None
    policy: object = None
    review: object = None
    action_item: object = None
    warning: object = None
    membership: object = None  # its vendor user's (the other organisation: its admin's)
    invitation: object = None  # a pending invitation of a vendor user
    notification: object = None  # a failed e-mail about its escalation
    credit_entry: object = None  # a credit ledger entry of its contract (assessed)


@dataclass
class World:
    org: Organization
    other_org: Organization
    alice: object  # admin of org
    bob: object  # account manager of org
    lena: object  # leadership of org
    vic: object  # vendor user of `mine` in org
    olly: object  # vendor user of `theirs` in org (same-tenant outsider)
    charlie: object  # admin of other_org (other-tenant outsider)
    mine: Side
    theirs: Side
    foreign: Side

    def members(self):
        return {"alice": self.alice, "bob": self.bob, "lena": self.lena, "vic": self.vic}


def make_side(org, name: str) -> Side:
    vendor = factories.VendorFactory(organization=org, name=name)
    contact = factories.VendorContactFactory(vendor=vendor, organization=org)
    contract = factories.ContractFactory(vendor=vendor, organization=org)
    sla = factories.ServiceLevelFactory(contract=contract, organization=org, code="avail")
    terms = factories.TermsFactory(service_level=sla, organization=org)
    factories.CreditTierFactory(terms=terms, organization=org)
    reading = factories.ReadingFactory(
        service_level=sla, organization=org, period_start=date(2026, 1, 1), value=Decimal("99.95")
    )
    engine.recompute(organization_id=org.pk, service_level_ids=[sla.pk], today=date(2026, 2, 3))
    return Side(vendor, contract, sla, terms, reading, contact)


def make_escalation(sla):
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from escalations.models import Escalation

    with scopes_disabled():
        return Escalation.objects.create(
            organization_id=sla.organization_id,
            contract_id=sla.contract_id,
            service_level=sla,
            kind=Escalation.Kind.PERFORMANCE,
            level=1,
            reason="test",
            opened_at=timezone.now(),
        )


def make_governance(side: Side, vendor_user):
    """A planned review, an action item for the vendor and a vendor warning of one side."""
    from datetime import UTC, datetime

    from django_scopes import scopes_disabled

    from reviews.models import ActionItem, Review, VendorWarning
    from reviews.models import Side as Party

    org_id = side.contract.organization_id
    now = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
    with scopes_disabled():
        review = Review.objects.create(
            organization_id=org_id, contract=side.contract, scheduled_at=now,
            location="Room 1", state=Review.State.HELD, held_at=now,
            decisions="Keep the parts stock at two weeks.",
        )  # fmt: skip
        warning = VendorWarning.objects.create(
            organization_id=org_id, contract=side.contract, service_level=side.sla,
            title="Parts shortage", impact="Slower repairs", period_from=date(2026, 2, 1),
            raised_by=vendor_user, raised_at=now,
        )  # fmt: skip
        item = ActionItem.objects.create(
            organization_id=org_id, contract=side.contract, review=review,
            title="Find a second parts supplier", owner=vendor_user, owner_side=Party.VENDOR,
            due_date=date(2026, 3, 1), created_by=vendor_user, created_at=now,
        )  # fmt: skip
    return review, item, warning


def make_failed_notification(escalation):
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from escalations.models import Notification

    with scopes_disabled():
        return Notification.objects.create(
            organization_id=escalation.organization_id, escalation=escalation,
            key=f"test:{escalation.pk}", email="refused@example.com", state="failed",
            kind="digest", payload={"subject": "[slagov] Your daily digest", "text": "One."},
            attempts=1, last_error="SMTPRecipientsRefused: 550", next_attempt_at=timezone.now(),
        )  # fmt: skip


def make_policy(contract):
    from django_scopes import scopes_disabled

    from escalations.models import EscalationPolicy

    with scopes_disabled():
        return EscalationPolicy.objects.create(
            organization_id=contract.organization_id, contract=contract
        )


def token_client(org, user):
    """An API client authenticated with a new token of `user`'s membership in `org`."""
    from rest_framework.test import APIClient

    membership = Membership.objects.get(user=user, organization=org)
    _, key = api_token_create(organization=org, actor=user, membership=membership, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def member(org, username: str, role: str, vendor=None):
    user = factories.UserFactory(username=username)
    factories.MembershipFactory(organization=org, user=user, role=role, vendor=vendor)
    return user


@pytest.fixture
def ingest_today():
    """The upload tests' day (`ingest_world.TODAY`), with the clock stopped."""
    with time_machine.travel(ingest_world.TODAY, tick=False):
        yield


@pytest.fixture
def w(db) -> ingest_world.IngestWorld:
    """The upload tests' organisation, vendor, contract and SLAs (a module may refine it)."""
    return ingest_world.build()


@pytest.fixture
def world(db) -> World:
    org = factories.OrganizationFactory(name="Acme Corp", slug="acme")
    other = factories.OrganizationFactory(name="Other Inc", slug="other")
    mine = make_side(org, "Vendor Mine")
    theirs = make_side(org, "Vendor Theirs")
    foreign = make_side(other, "Vendor Foreign")
    world = World(
        org=org,
        other_org=other,
        alice=member(org, "alice", Membership.Role.ADMIN),
        bob=member(org, "bob", Membership.Role.ACCOUNT_MANAGER),
        lena=member(org, "lena", Membership.Role.LEADERSHIP),
        vic=member(org, "vic", Membership.Role.VENDOR, vendor=mine.vendor),
        olly=member(org, "olly", Membership.Role.VENDOR, vendor=theirs.vendor),
        charlie=member(other, "charlie", Membership.Role.ADMIN),
        mine=mine,
        theirs=theirs,
        foreign=foreign,
    )
    for side, user, side_org in (
        (mine, world.vic, org),
        (theirs, world.olly, org),
        (foreign, world.charlie, other),
    ):
        side.token, _ = api_token_create(
            organization=side_org, actor=user, membership=user.memberships.get(), name="t"
        )
        side.escalation = make_escalation(side.sla)
        side.notification = make_failed_notification(side.escalation)
        side.policy = make_policy(side.contract)
        side.review, side.action_item, side.warning = make_governance(side, user)
        side.submission = submission_receive(
            organization=side_org,
            actor=user,
            vendor=side.vendor,
            enqueue=False,
            data=f"contract,sla,period,value\n{side.contract.reference},avail,2026-01,99\n".encode(),
            filename="data.csv",
        )
        side.membership = user.memberships.get()
        side.credit_entry = make_credit_entry(side.contract)
        side.invitation = make_invitation(side_org, side.vendor)
    return world


def make_credit_entry(contract):
    """
    A ledger entry for December 2025, as written before any sync (the engine gives that
    month no credit: the first sync of the ledger removes it).
    """
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from metrics.models import CreditEntry

    with scopes_disabled():
        return CreditEntry.objects.create(
            organization_id=contract.organization_id, contract=contract,
            month=date(2025, 12, 1), currency=contract.currency, amount=Decimal("500.00"),
            engine_amount=Decimal("500.00"), assessed_at=timezone.now(),
        )  # fmt: skip


def make_invitation(org, vendor):
    from datetime import timedelta

    from django.utils import timezone

    from slagov.models import Invitation

    now = timezone.now()
    return Invitation.objects.create(
        organization=org, email=f"new.{vendor.pk}@{org.slug}.example", role="vendor",
        vendor=vendor, sent_at=now, expires_at=now + timedelta(days=7),
    )  # fmt: skip
