"""
Action-item reminders: three days before the due date a reminder, the day
after it a notice that it is overdue, each once per item and due date however
often the daily job runs, through the outbox; one organisation's failure
costs no other its reminders. End to end on a real Celery worker and a real
SMTP server too.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations import notify
from escalations.models import Notification
from reviews import actions
from reviews.models import ActionItem, Side
from reviews.tasks import send_action_reminders
from slagov.models import Membership
from slagov.tenancy import resolve_tenant
from tests import factories
from tests.conftest import World
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp, worker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
DUE = date(2026, 3, 1)  # the world's item, owned by vic


def _run(day: date) -> list:
    """
    The daily job on `day`, then the outbox's sender (what the job asks for once
    its transaction commits; a test's transaction never does): the e-mails sent.
    """
    before = len(mail.outbox)
    with time_machine.travel(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6),
                             tick=False):  # fmt: skip
        send_action_reminders()
        notify.send_pending()
    return mail.outbox[before:]


def _close(*sides) -> None:
    """Those sides' items are done: the test follows the others'."""
    with scopes_disabled():
        ActionItem.objects.filter(pk__in=[side.action_item.pk for side in sides]).update(
            state="done"
        )


def _days(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def test_a_reminder_three_days_before_and_a_notice_the_day_after_each_once(world: World):
    _close(world.theirs, world.foreign)
    received = {}
    for day in _days(date(2026, 2, 20), date(2026, 3, 20)):
        for _ in range(3):  # however often it runs
            for message in _run(day):
                received.setdefault(day, []).append(message)
    assert sorted(received) == [date(2026, 2, 26), date(2026, 3, 2)]
    (reminder,) = received[date(2026, 2, 26)]
    (overdue,) = received[date(2026, 3, 2)]
    reference = world.mine.contract.reference
    assert reminder.to == [world.vic.email]
    assert reminder.subject == f"[slagov] Due 1 Mar: Find a second parts supplier ({reference})"
    assert "an action item you own is due on 1 Mar 2026" in reminder.body
    item_url = f"/o/acme/actions/{world.mine.action_item.pk}/"
    assert item_url in reminder.body
    assert item_url in reminder.alternatives[0][0]
    assert overdue.subject == (
        f"[slagov] Overdue since 1 Mar: Find a second parts supplier ({reference})"
    )
    assert "it was due on 1 Mar 2026" in overdue.body
    assert reminder.extra_headers["Message-ID"] != overdue.extra_headers["Message-ID"]
    with scopes_disabled():
        keys = sorted(Notification.objects.filter(action_item=world.mine.action_item)
                      .values_list("key", "kind", "state"))  # fmt: skip
    item = world.mine.action_item.pk
    assert keys == [
        (f"action:{item}:due:2026-03-01", "action_due", "sent"),
        (f"action:{item}:overdue:2026-03-01", "action_overdue", "sent"),
    ]


def test_moving_the_due_date_brings_a_reminder_for_the_new_date(world: World):
    _close(world.theirs, world.foreign)
    assert len(_run(date(2026, 2, 26))) == 1
    with time_machine.travel(datetime(2026, 2, 27, 9, tzinfo=UTC), tick=False):
        tenant = resolve_tenant(world.bob, world.org.slug)
        with tenant.activate():
            actions.action_item_update(
                item=world.mine.action_item, actor=world.bob, tenant=tenant,
                due_date=date(2026, 3, 10),
            )  # fmt: skip
    assert _run(date(2026, 3, 2)) == []  # not overdue now
    (again,) = _run(date(2026, 3, 7))
    assert again.subject.startswith("[slagov] Due 10 Mar:")
    assert _run(date(2026, 3, 8)) == []
    (late,) = _run(date(2026, 3, 11))
    assert late.subject.startswith("[slagov] Overdue since 10 Mar:")


def test_nothing_for_a_closed_item_or_an_owner_who_has_left(world: World):
    _close(world.mine, world.foreign)
    with scopes_disabled():
        Membership.objects.filter(user=world.olly).update(is_active=False)
    assert _run(date(2026, 2, 26)) == []
    assert _run(date(2026, 3, 2)) == []


def test_a_vendor_user_moved_to_another_vendor_is_no_longer_reminded(world: World):
    _close(world.foreign)
    with scopes_disabled():
        Membership.objects.filter(user=world.vic).update(vendor=world.theirs.vendor)
    (only,) = _run(date(2026, 2, 26))
    assert only.to == [world.olly.email]  # theirs: olly's own item


def test_one_organisations_failure_costs_no_other_its_reminders(
    world: World, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    failing = world.other_org.pk
    real = actions._reminder_kind

    def poisoned(item, today):
        if item.organization_id == failing:
            raise RuntimeError("a row nobody could have written")
        return real(item, today)

    monkeypatch.setattr(actions, "_reminder_kind", poisoned)
    with (
        caplog.at_level(logging.ERROR, logger="slagov.jobs"),
        time_machine.travel(datetime(2026, 2, 26, 6, tzinfo=UTC), tick=False),
    ):
        with django_capture_on_commit_callbacks() as asked:
            report = send_action_reminders()
        assert asked  # the job asks the outbox to send once its work commits
        notify.send_pending()
    assert report == {"done": 2, "failed": 1,
                      "failures": [f"other (#{failing}): action-item reminders"]}  # fmt: skip
    assert sorted(address for m in mail.outbox for address in m.to) == [
        world.olly.email,
        world.vic.email,
    ]
    assert any("other" in record.getMessage() for record in caplog.records)
    with scopes_disabled():
        assert not Notification.objects.filter(
            organization=world.other_org, kind__startswith="action"
        ).exists()


def test_a_customer_side_owner_is_reminded_too(world: World):
    with scopes_disabled():
        ActionItem.objects.filter(pk=world.mine.action_item.pk).update(
            owner=world.lena, owner_side=Side.CUSTOMER
        )
    (reminder,) = [m for m in _run(date(2026, 2, 26))
                   if world.lena.email in m.to]  # fmt: skip
    assert "Find a second parts supplier" in reminder.body


# --- End to end ----------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_one_reminder_to_the_owner_however_often_the_job_runs(
    worker,  # noqa: F811 (fixture)
    smtp,  # noqa: F811 (fixture)
):
    org = factories.OrganizationFactory(slug="actions-it")
    owner = factories.UserFactory(username="vera-act", email="vera@vendor.example")
    vendor = factories.VendorFactory(organization=org, name="Datastream")
    factories.MembershipFactory(organization=org, user=owner, role="vendor", vendor=vendor)
    contract = factories.ContractFactory(organization=org, vendor=vendor, reference="NW-ACT-001")
    due = timezone.localdate() + timedelta(days=2)
    with scopes_disabled():
        item = ActionItem.objects.create(
            organization=org, contract=contract, title="Swap the failing switch", owner=owner,
            owner_side=Side.VENDOR, due_date=due, created_at=timezone.now(),
        )  # fmt: skip
    worker()
    send_action_reminders.delay()
    _wait_for(lambda: smtp.to("vera@vendor.example"), 60, "the reminder")
    send_action_reminders.delay()  # the next run finds nothing new to send
    time.sleep(3)
    (message,) = smtp.to("vera@vendor.example")
    assert message["Subject"] == (
        f"[slagov] Due {due.day} {due:%b}: Swap the failing switch (NW-ACT-001)"
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"http://testserver/o/actions-it/actions/{item.pk}/" in text
    assert smtp.count() == 1
    with scopes_disabled():
        assert list(
            Notification.objects.filter(organization=org).values_list("state", flat=True)
        ) == ["sent"]
