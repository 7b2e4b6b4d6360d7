"""Data deadlines: a reminder before, a notice after, each sent once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from escalations import notify
from escalations.data_reminders import reminders_send
from metrics.services import statuses_refresh_all
from tests import factories
from tests.ingest_world import build

pytestmark = pytest.mark.django_db


def _run(day: date) -> int:
    """The day's job, then the outbox (one e-mail per recipient). Returns messages queued."""
    with time_machine.travel(day, tick=False):
        statuses_refresh_all()
        queued = reminders_send().done
        notify.send_pending()
        return queued


def _to(subject: str) -> list[str]:
    """Everyone who received the e-mail with this subject."""
    return sorted(address for m in mail.outbox if m.subject == subject for address in m.to)


@pytest.fixture
def w():
    world = build()
    with scopes_disabled():  # a fresh contract: October is its first period
        Contract.objects.filter(organization=world.org).update(start_date=date(2026, 10, 1))
        world.slas["backlog"].is_active = False  # weekly: its own test below
        world.slas["backlog"].save()
    contact = factories.VendorContactFactory(
        organization=world.org, vendor=world.vendor, email="ops@vendor.example"
    )
    with scopes_disabled():
        world.contract.vendor_contacts.add(contact, through_defaults={"organization": world.org})
    for code, sla in world.slas.items():
        if code != "avail":  # only availability is missing for October
            factories.ReadingFactory(
                organization=world.org,
                service_level=sla,
                period_start=date(2026, 10, 1),
                value=Decimal("1"),
            )
    return world


def test_reminder_three_days_before_the_deadline_then_a_late_notice_once_each(w):
    # October's deadline: 5 days after the period ends, i.e. 5 November.
    assert _run(date(2026, 11, 1)) == 0  # too early
    assert _run(date(2026, 11, 2)) == 1
    reminder = mail.outbox[-1]
    assert reminder.subject == "[slagov] Data for CORP-1 Oct 2026 is due by 5 Nov"
    # One e-mail each, through the outbox.
    assert _to(reminder.subject) == ["ops@vendor.example", "uploader@example.com"]
    assert "Oct 2026, due 5 Nov 2026. Still missing: avail" in reminder.body
    assert "/o/corpus/submissions/" in reminder.body
    assert _run(date(2026, 11, 3)) == 0  # already reminded
    assert _run(date(2026, 11, 5)) == 0  # deadline day: still on time
    assert _run(date(2026, 11, 6)) == 1
    assert mail.outbox[-1].subject == "[slagov] Data for CORP-1 Oct 2026 is late (due 5 Nov)"
    assert _run(date(2026, 11, 7)) == 0
    assert len(mail.outbox) == 4  # two messages, each to two people


def test_no_reminder_once_the_data_is_in(w):
    factories.ReadingFactory(
        organization=w.org, service_level=w.slas["avail"], period_start=date(2026, 10, 1)
    )
    assert _run(date(2026, 11, 3)) == 0
    assert mail.outbox == []


def test_weekly_periods_of_one_contract_come_in_one_email(w):
    with scopes_disabled():
        w.slas["backlog"].is_active = True
        w.slas["backlog"].save()
    # One e-mail for everything late (October and its past weeks), one for the week due today.
    assert _run(date(2026, 11, 6)) == 2
    late, upcoming = sorted(
        {m.subject: m for m in mail.outbox}.values(), key=lambda m: "due by" in m.subject
    )
    assert "periods are late" in late.subject
    assert "Oct 2026, due 5 Nov" in late.body
    assert "W43 2026, due 30 Oct" in late.body
    assert upcoming.subject == "[slagov] Data for CORP-1 W44 2026 is due by 6 Nov"


def test_recipients_are_looked_up_once_a_run_and_not_for_reminders_already_sent(w, monkeypatch):
    from escalations import data_reminders as reminders

    looked_up = []
    original = reminders._recipients

    def recipients(contract):
        looked_up.append(contract.pk)
        return original(contract)

    monkeypatch.setattr(reminders, "_recipients", recipients)
    assert _run(date(2026, 11, 6)) == 1
    assert w.contract.pk in looked_up
    assert len(looked_up) == len(set(looked_up))  # once per contract
    looked_up.clear()
    assert _run(date(2026, 11, 7)) == 0
    assert w.contract.pk not in looked_up  # sent already: nobody to look up


def test_reminders_read_the_organisation_with_the_statuses(w):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with time_machine.travel(date(2026, 11, 2), tick=False):
        statuses_refresh_all()
        with CaptureQueriesContext(connection) as queries:
            assert reminders_send().done == 1
        notify.send_pending()
    assert "/o/corpus/submissions/" in mail.outbox[-1].body
    assert not [q for q in queries if q["sql"].startswith('SELECT "slagov_organization"')]


def test_reminders_go_to_the_contracts_contacts_only_escalations_fall_back_to_the_vendors(w):
    from contracts.selectors import vendor_recipients

    with scopes_disabled():
        w.contract.vendor_contacts.clear()
        everyone = vendor_recipients(w.contract, all_contacts_if_none=True)
        named = vendor_recipients(w.contract, all_contacts_if_none=False)
    assert sorted(everyone) == ["ops@vendor.example", "uploader@example.com"]
    assert sorted(named) == ["uploader@example.com"]
    assert _run(date(2026, 11, 2)) == 1
    assert mail.outbox[-1].to == ["uploader@example.com"]


def test_no_reminder_and_no_late_notice_before_the_data_start(w):
    with scopes_disabled():  # availability is owed from November: October may come or not
        ServiceLevel.objects.filter(pk=w.slas["avail"].pk).update(data_start=date(2026, 11, 1))
        w.slas["backlog"].is_active = True  # weekly: owed from 2026-W45 (2 November)
        w.slas["backlog"].data_start = date(2026, 11, 2)
        w.slas["backlog"].save()
    assert _run(date(2026, 11, 2)) == 0  # October due 5 Nov; 2026-W44 due 6 Nov
    assert _run(date(2026, 11, 6)) == 0
    assert _run(date(2026, 11, 10)) == 1  # 2026-W45, the first week owed, due 13 Nov
    assert mail.outbox[-1].subject == "[slagov] Data for CORP-1 W45 2026 is due by 13 Nov"
    before = len(mail.outbox)
    assert _run(date(2026, 12, 2)) == 2  # the weeks owed are late; November is due soon
    late, upcoming = sorted(
        {m.subject: m for m in mail.outbox[before:]}.values(),
        key=lambda m: "due by" in m.subject,
    )
    assert "Nov 2026, due 5 Dec" in upcoming.body
    assert "W45 2026, due 13 Nov" in late.body
    assert "2026-10," not in late.body + upcoming.body
    assert "2026-W44," not in late.body + upcoming.body
