"""
Escalation e-mail end to end, on the real services: a Celery worker on Redis,
PostgreSQL (in CI), and an SMTP server on loopback (aiosmtpd). A message
counts as delivered only once the server has answered 250, as in real SMTP.
"""

from __future__ import annotations

import asyncio
import email
import os
import re
import signal
import threading
import time
from datetime import date
from decimal import Decimal
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations import services
from escalations.models import Escalation, EscalationStep, Notification
from escalations.policies import ensure_default_policy
from metrics.ingest import pipeline
from slagov.celery import app as celery_app
from slagov.models import Membership
from tests import factories
from tests.conftest import require_service
from tests.test_deploy import _command, _env, _free_port, _start, _stop, _wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Inbox:
    """Collects what the SMTP server accepted. `delay`: seconds before answering DATA."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        if server.transport is None or server.transport.is_closing():
            return "421 client gone"  # never answered 250: not delivered
        message = email.message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def worker(tmp_path, smtp):
    """Start and stop real Celery workers from the compose file's command."""
    require_service("REDIS_URL", bool(os.environ.get("REDIS_URL")))
    started: list = []
    site = "http://testserver"

    def start(name: str = "worker", **extra: str):
        argv = [a for a in _command("worker") if not a.startswith("--concurrency")]
        argv += ["--concurrency=1", f"--hostname={name}@%h"]
        log = tmp_path / f"{name}.log"
        env = _env(EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}", SITE_URL=site, **extra)
        process = _start(argv, env, log)
        started.append(process)
        _wait_for(lambda: "ready." in log.read_text(), 60, f"{name} ready", log)
        return process, log

    # Clear what an earlier test may have left in the queue.
    celery_app.control.purge()
    celery_app.conf.task_always_eager = False
    yield start
    celery_app.conf.task_always_eager = True
    for process in started:
        _stop(process)


def red_escalations(count: int) -> tuple:
    """`count` SLAs of one contract opened red: (the organisation, {(address, outbox row)})."""
    org, contract, _sla, _lena, _vera = _world()
    with scopes_disabled():
        policy = ensure_default_policy(org.pk)
        red_step = policy.steps.get(condition=EscalationStep.Condition.STATE, state="red")
        for n in range(count):
            other = factories.ServiceLevelFactory(organization=org, contract=contract, code=f"s{n}")
            services.escalation_open(
                service_level=other, kind="performance", step=red_step, reason=f"s{n} red",
                reached_red=True, now=timezone.now(),
            )  # fmt: skip
        return org, {(n.email, n.pk) for n in Notification.objects.filter(organization=org)}


def _world():
    org = factories.OrganizationFactory(slug="esc-it")
    lena = factories.UserFactory(username="lena-it", email="lena@northwind.example")
    factories.MembershipFactory(organization=org, user=lena, role=Membership.Role.LEADERSHIP)
    bob = factories.UserFactory(username="bob-it", email="bob@northwind.example")
    factories.MembershipFactory(organization=org, user=bob, role=Membership.Role.ACCOUNT_MANAGER)
    vera = factories.UserFactory(username="vera-it", email="vera@vendor.example")
    vendor = factories.VendorFactory(organization=org, name="Datastream")
    factories.MembershipFactory(organization=org, user=vera, role="vendor", vendor=vendor)
    contract = factories.ContractFactory(
        organization=org,
        vendor=vendor,
        owner=bob,
        reference="NW-NET-001",
        annual_value=Decimal("380000"),
        start_date=date(2025, 1, 1),
        end_date=date(2028, 12, 31),
    )
    sla = factories.ServiceLevelFactory(
        organization=org, contract=contract, code="avail", name="Service availability"
    )
    factories.TermsFactory(organization=org, service_level=sla)
    return org, contract, sla, lena, vera


def test_a_red_week_reaches_leadership_once_with_a_working_acknowledge_link(worker, smtp, client):
    org, contract, sla, lena, vera = _world()
    worker()
    last = timezone.localdate().replace(day=1)
    month = date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    data = f"contract,sla,period,value\nNW-NET-001,avail,{month:%Y-%m},99.2\n".encode()
    submission = pipeline.submission_receive(
        organization=org,
        actor=vera,
        vendor=contract.vendor,
        data=data,
        filename="oct.csv",
        enqueue=False,
    )
    pipeline.submission_validate(submission_id=submission.pk)
    # Applying enqueues the recompute; the worker recomputes, evaluates, notifies.
    assert pipeline.submission_confirm(organization=org, actor=vera, submission=submission).ok
    _wait_for(lambda: smtp.to("lena@northwind.example"), 60, "the leadership e-mail")
    time.sleep(3)  # anything else would have arrived by now
    (message,) = smtp.to("lena@northwind.example")
    assert message["Subject"] == "[slagov] Level 2 escalation: NW-NET-001 Service availability"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Red (breach)" in text
    link = re.search(r"http://testserver(/ack/\S+/)", text).group(1)
    client.get(link)
    client.post(link)
    with scopes_disabled():
        escalation = Escalation.objects.get(service_level=sla)
    assert (escalation.level, escalation.state) == (2, "acknowledged")
    assert escalation.acknowledged_by == lena
    assert client.post(link).status_code == 410  # not twice


def test_a_worker_killed_mid_sending_delivers_each_email_at_least_once_a_copy_is_the_same_message(
    worker, smtp
):
    org, expected = red_escalations(10)
    assert len(expected) == 20  # leadership and the owner, for each of ten escalations
    smtp.delay = 0.3
    first, log = worker("first", WORK_LEASE_SECONDS="5")
    _wait_for(lambda: smtp.count() >= 4, 60, "the first e-mails", log)
    time.sleep(0.15)  # mid-way through the next one
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    delivered_before = smtp.count()
    assert delivered_before < 20
    worker("second", WORK_LEASE_SECONDS="5")
    # What the sweeper does every minute: ask the outbox to send what is still pending
    # (the message claimed by the killed worker once its 5 s lease has passed).
    from escalations.tasks import send_notifications

    def all_sent() -> bool:
        send_notifications.delay()
        with scopes_disabled():
            return not Notification.objects.filter(organization=org, state="pending").exists()

    _wait_for(all_sent, 90, "every e-mail")
    time.sleep(2)
    received = [(m["To"], int(m["X-Slagov-Notification"])) for m in smtp.messages]
    # At least once each. The one the worker was sending when it died may have reached
    # the relay before its row was marked sent: then it comes again, as the same message.
    assert set(received) == expected
    ids: dict[int, set[str]] = {}
    for m in smtp.messages:
        ids.setdefault(int(m["X-Slagov-Notification"]), set()).add(m["Message-ID"])
    assert all(len(found) == 1 for found in ids.values()), ids
    assert len({next(iter(found)) for found in ids.values()}) == 20
    assert len(received) <= 21, "only the message in flight at the kill may come twice"
    with scopes_disabled():
        assert set(
            Notification.objects.filter(organization=org).values_list("state", flat=True)
        ) == {"sent"}
