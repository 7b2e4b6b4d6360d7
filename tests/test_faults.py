"""
Faults, on the real services: the broker unreachable while people upload,
post readings over the API and correct a reading by hand; whole workers
(main process and pool) killed with SIGKILL while validating and while
sending, ten times each; a relay too slow to answer and one that refuses.

What is guaranteed, and asserted: no request answers 500 after its data is
committed; nothing recorded is lost; nothing stays waiting past its lease
(plus one sweep); every e-mail is delivered at least once, and a message that
comes twice (a worker died after the relay accepted it) carries the same
Message-ID both times.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import date, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations import notify, services
from escalations.models import EscalationStep, Notification
from escalations.policies import ensure_default_policy
from escalations.tasks import send_notifications
from metrics.ingest import pipeline, worst_cases
from metrics.models import PeriodStatus, Submission
from slagov import tasks as slagov_tasks
from slagov import work
from slagov.celery import app as celery_app
from slagov.models import PendingWork
from tests import factories, ingest_world
from tests.conftest import token_client
from tests.test_deploy import _free_port, _wait_for
from tests.test_escalation_workers import Inbox, _world, red_escalations, smtp, worker  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]
LEASE = 5  # seconds: the work lease in these tests (300 in production)


def _reset_broker_pools() -> None:
    """Forget the connections made so far: the next enqueue connects to `broker_url`."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """The broker unreachable: nothing listens on its port. Yields a function that mends it."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url = f"redis://127.0.0.1:{_free_port()}/0"
    conf.task_always_eager = False
    _reset_broker_pools()

    def mend() -> None:
        """The broker is back; the sweeper's asks run in this process."""
        conf.broker_url = saved[0]
        conf.task_always_eager = True
        _reset_broker_pools()

    yield mend
    conf.broker_url, conf.task_always_eager = saved
    _reset_broker_pools()


def _sweep_after_the_lease() -> dict:
    """What beat does every minute, run once the lease has passed."""
    with time_machine.travel(timezone.now() + timedelta(seconds=LEASE + 1)):
        return slagov_tasks.sweep()


def _colour(w, code: str, start: date) -> str | None:
    with scopes_disabled():
        status = PeriodStatus.objects.filter(service_level=w.slas[code], period_start=start).first()
        return status.colour if status else None


def test_an_upload_while_the_broker_is_down_answers_and_is_validated_once_it_is_back(
    client, broker_down, settings
):
    settings.WORK_LEASE_SECONDS = LEASE
    w = ingest_world.build()
    client.force_login(w.uploader)
    csv = b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n"
    response = client.post(
        reverse("metrics:submissions", args=[w.org.slug]),
        {"vendor": w.vendor.pk, "file": SimpleUploadedFile("october.csv", csv)},
    )
    assert response.status_code == 302  # not a 500 after the file was stored
    with scopes_disabled():
        submission = Submission.objects.get(organization=w.org)
    assert submission.state == "received"
    page = client.get(response["Location"])
    assert page.status_code == 200
    broker_down()  # mended
    assert _sweep_after_the_lease()["submissions"] == 1
    submission.refresh_from_db()
    assert submission.state == "ready"


def test_an_api_batch_while_the_broker_is_down_is_applied_and_its_statuses_follow(
    broker_down, settings
):
    settings.WORK_LEASE_SECONDS = LEASE
    w = ingest_world.build()
    api = token_client(w.org, w.uploader)
    rows = [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 97.0}]
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    response = api.post(url, {"rows": rows}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "applied"
    # The recompute it needs was recorded with the readings, not lost with the ask.
    (recorded,) = PendingWork.objects.filter(organization=w.org)
    assert recorded.kind == work.RECOMPUTE
    assert _colour(w, "avail", date(2026, 10, 1)) != "red"
    # A retry by the client is still "nothing to apply": no second copy of anything.
    again = api.post(url, {"rows": rows}, format="json")
    assert again.status_code in (200, 201)
    broker_down()  # mended
    assert _sweep_after_the_lease()["work"] == 1
    assert _colour(w, "avail", date(2026, 10, 1)) == "red"
    # The recompute's follow-up (the escalation rules) ran too, and nothing is left.
    assert not PendingWork.objects.exists()


def test_a_reading_corrected_by_hand_while_the_broker_is_down_is_kept_and_counted(
    client, broker_down, settings
):
    settings.WORK_LEASE_SECONDS = LEASE
    w = ingest_world.build()
    client.force_login(w.manager)
    url = reverse("metrics:reading_create", args=[w.org.slug, w.slas["avail"].pk])
    response = client.post(url, {"period": "2026-10", "value": "97"})
    assert response.status_code == 302
    assert PendingWork.objects.filter(organization=w.org, kind=work.RECOMPUTE).count() == 1
    broker_down()  # mended
    _sweep_after_the_lease()
    assert _colour(w, "avail", date(2026, 10, 1)) == "red"
    assert not PendingWork.objects.exists()


def test_work_asked_for_too_often_is_failed_and_kept_for_admins(settings):
    settings.WORK_LEASE_SECONDS = LEASE
    org = factories.OrganizationFactory()
    recorded = PendingWork.objects.create(
        organization=org, kind="no such work", run_after=timezone.now()
    )
    start = timezone.now()
    for n in range(work.MAX_ATTEMPTS + 1):
        with time_machine.travel(start + timedelta(seconds=(LEASE + 1) * (n + 1))):
            work.sweep()  # each ask fails (logged); the row stays for the next sweep
    recorded.refresh_from_db()
    assert recorded.failed_at is not None
    assert recorded.attempts == work.MAX_ATTEMPTS
    assert "KeyError" in recorded.last_error


# --- Workers killed ---------------------------------------------------------------------


def _slow_workbook(rows: int, salt: int) -> bytes:
    """A workbook of inline strings: a few seconds of reading. `salt` makes each one unique."""
    head = b"<row>" + b"".join(
        f'<c t="inlineStr"><is><t>{h}</t></is></c>'.encode()
        for h in ("contract", "sla", "period", "value")
    ) + b"</row>"  # fmt: skip
    body = [head] + [
        b'<row><c t="inlineStr"><is><t>CORP-1</t></is></c><c t="inlineStr"><is><t>avail</t>'
        b'</is></c><c t="inlineStr"><is><t>2026-10</t></is></c><c><v>%d</v></c></row>' % (n + salt)
        for n in range(rows)
    ]
    return worst_cases.xlsx(body)


def _state(submission_id: int) -> str:
    with scopes_disabled():
        return Submission.objects.get(pk=submission_id).state


def test_ten_workers_killed_while_validating_lose_no_submission(worker, settings):  # noqa: F811
    lease = 20  # longer than one validation of these files
    settings.WORK_LEASE_SECONDS = lease
    w = ingest_world.build()
    killed: dict[int, float] = {}
    for n in range(10):
        process, log = worker(f"doomed{n}")
        submission = pipeline.submission_receive(
            organization=w.org, actor=w.uploader, vendor=w.vendor,
            data=_slow_workbook(60_000, n * 100_000), filename=f"slow{n}.xlsx",
        )  # fmt: skip
        _wait_for(lambda s=submission: _state(s.pk) == "validating", 60, "validating", log)
        os.killpg(os.getpgid(process.pid), signal.SIGKILL)  # main process and pool
        process.wait(10)
        killed[submission.pk] = time.monotonic()
    assert {_state(pk) for pk in killed} == {"validating"}
    _, log = worker("rescuer")
    finished: dict[int, float] = {}

    def everything_validated() -> bool:
        pipeline.submissions_recover_all()  # the sweeper (each minute in beat)
        for pk in killed:
            if pk not in finished and _state(pk) in {"ready", "invalid"}:
                finished[pk] = time.monotonic()
        return len(finished) == len(killed)

    _wait_for(everything_validated, 600, "every submission validated", log)
    with scopes_disabled():
        states = set(Submission.objects.filter(pk__in=killed).values_list("state", flat=True))
    assert states <= {"invalid", "ready"}  # read to the end, whatever the rows say
    stuck = max(finished[pk] - killed[pk] for pk in killed)
    print(f"\nvalidation: 10 kills, 10 submissions, 0 lost, longest wait {stuck:.0f} s")
    # The first is taken up after its lease; the others wait for it (one rescuer).
    assert min(finished[pk] - killed[pk] for pk in killed) < lease + 60


def test_ten_workers_killed_while_sending_lose_no_email_and_repeat_only_the_same_message(
    worker,  # noqa: F811
    smtp,  # noqa: F811
):
    org, expected = red_escalations(30)
    assert len(expected) == 60  # leadership and the owner, for each of 30 escalations
    smtp.delay = 0.6  # a slow relay: each message takes 0.6 s to be accepted
    kills = 10
    for n in range(kills):
        process, log = worker(f"sender{n}", WORK_LEASE_SECONDS=str(LEASE))
        send_notifications.delay()
        target = smtp.count() + 2
        _wait_for(lambda t=target: smtp.count() >= t, 60, "e-mails going out", log)
        time.sleep(0.3 + 0.05 * n)  # somewhere in the next message
        os.killpg(os.getpgid(process.pid), signal.SIGKILL)
        process.wait(10)
    last_kill = time.monotonic()
    assert smtp.count() < 60
    smtp.delay = 0.0
    _, log = worker("survivor", WORK_LEASE_SECONDS=str(LEASE))

    def all_sent() -> bool:
        send_notifications.delay()  # the sweeper (each minute in beat)
        with scopes_disabled():
            return not Notification.objects.filter(organization=org, state="pending").exists()

    _wait_for(all_sent, 120, "every e-mail sent", log)
    waited = time.monotonic() - last_kill
    time.sleep(1)
    received = [(m["To"], int(m["X-Slagov-Notification"])) for m in smtp.messages]
    assert set(received) == expected  # none lost
    ids: dict[int, set[str]] = {}
    for m in smtp.messages:
        ids.setdefault(int(m["X-Slagov-Notification"]), set()).add(m["Message-ID"])
    assert all(len(found) == 1 for found in ids.values()), "a copy is always the same message"
    duplicates = len(received) - len(expected)
    print(f"\nsending: {kills} kills, 60 messages, 0 lost, {duplicates} duplicates "
          f"(same Message-ID), all sent {waited:.0f} s after the last kill")  # fmt: skip
    assert duplicates <= kills, "at most the message in flight at each kill comes twice"
    assert waited < LEASE + 60  # nothing waits much past its lease


# --- The relay ---------------------------------------------------------------------------


@pytest.fixture
def relay(settings, smtp):  # noqa: F811
    """This process sends through the loopback relay, with a 1 s timeout."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp.port, 1
    return smtp


def _one_notification() -> Notification:
    org, _contract, sla, _lena, _vera = _world()
    with scopes_disabled(), notify.outbox_held():  # sent by the test, not on commit
        policy = ensure_default_policy(org.pk)
        red_step = policy.steps.get(condition=EscalationStep.Condition.STATE, state="red")
        services.escalation_open(
            service_level=sla, kind="performance", step=red_step, reason="red",
            reached_red=True, now=timezone.now(),
        )  # fmt: skip
        return Notification.objects.filter(organization=org).order_by("pk").first()


def test_a_relay_too_slow_to_answer_is_tried_again_later_and_delivers_one_message(relay):
    first = _one_notification()
    relay.delay = 2.0  # longer than the 1 s timeout: the client gives up first
    assert notify.send_pending() == 0
    first.refresh_from_db()
    assert (first.state, first.attempts) == ("pending", 1)
    assert "timed out" in first.last_error.lower()
    assert relay.count() == 0  # the relay never answered 250: not delivered
    relay.delay = 0.0
    assert notify.send_pending() == 0  # not before its backoff
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notify.send_pending() == 2
    first.refresh_from_db()
    assert (first.state, first.attempts, first.last_error) == ("sent", 2, "")
    assert sorted(int(m["X-Slagov-Notification"]) for m in relay.messages).count(first.pk) == 1


class Refusing(Inbox):
    """A relay that refuses one address for good (550) and is busy (451) for another."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("lena@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("bob@") and self.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_address_fails_at_once_and_a_busy_relay_is_tried_again(settings):
    inbox = Refusing()
    inbox.busy = True
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        first = _one_notification()
        assert notify.send_pending() == 0
        with scopes_disabled():
            rows = {
                n.email: n for n in Notification.objects.filter(organization=first.organization)
            }
        refused, busy = rows["lena@northwind.example"], rows["bob@northwind.example"]
        assert (refused.state, refused.attempts) == ("failed", 1)
        assert "550" in refused.last_error
        assert (busy.state, busy.attempts) == ("pending", 1)
        inbox.busy = False
        with time_machine.travel(timezone.now() + timedelta(minutes=2)):
            assert notify.send_pending() == 1
        assert [m["To"] for m in inbox.messages] == ["bob@northwind.example"]
    finally:
        controller.stop()
