"""
Escalation rules over status history, their lifecycle, and notifications
that go out once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail, signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations import evaluate, notify, services
from escalations.models import Escalation, EscalationEvent, Notification
from metrics import engine
from slagov.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


class World:
    def __init__(self, *, annual_value=Decimal("240000"), period="monthly", direction="higher",
                 target="99.9", minimum="99.5", unit="percent"):  # fmt: skip
        self.org = factories.OrganizationFactory(slug="esc")
        self.bob = self.member("bob", Membership.Role.ACCOUNT_MANAGER)
        self.lena = self.member("lena", Membership.Role.LEADERSHIP)
        self.alice = self.member("alice", Membership.Role.ADMIN)
        vendor = factories.VendorFactory(organization=self.org)
        self.contact = factories.VendorContactFactory(
            organization=self.org, vendor=vendor, email="ops@vendor.example"
        )
        self.contract = factories.ContractFactory(
            organization=self.org,
            vendor=vendor,
            owner=self.bob,
            annual_value=annual_value,
            start_date=date(2025, 1, 1),
            end_date=date(2028, 12, 31),
        )
        with scopes_disabled():
            self.contract.vendor_contacts.add(
                self.contact, through_defaults={"organization": self.org}
            )
        self.sla = factories.ServiceLevelFactory(
            organization=self.org,
            contract=self.contract,
            period=period,
            direction=direction,
            unit=unit,
            code="avail",
        )
        factories.TermsFactory(
            organization=self.org,
            service_level=self.sla,
            target=Decimal(target),
            minimum=Decimal(minimum),
        )

    def member(self, username, role):
        user = factories.UserFactory(username=username)
        factories.MembershipFactory(organization=self.org, user=user, role=role)
        return user

    def read(self, start: date, value: str):
        factories.ReadingFactory(
            organization=self.org, service_level=self.sla, period_start=start, value=Decimal(value)
        )

    def evaluate(self, now=NOW):
        engine.recompute(
            organization_id=self.org.pk, service_level_ids=[self.sla.pk], today=now.date()
        )
        return evaluate.evaluate(
            organization_id=self.org.pk, service_level_ids=[self.sla.pk], today=now.date(), now=now
        )

    def escalations(self) -> list[Escalation]:
        with scopes_disabled():
            return list(Escalation.objects.filter(organization=self.org).order_by("pk"))


def _weeks_back(n: int) -> date:
    monday = TODAY - timedelta(days=TODAY.weekday())
    return monday - timedelta(weeks=n)


def test_weekly_yellow_twice_opens_level_one_with_a_48_hour_due_by():
    w = World(period="weekly")
    w.read(_weeks_back(3), "99.95")
    w.read(_weeks_back(2), "99.7")
    w.read(_weeks_back(1), "99.6")
    assert w.evaluate() == {
        "opened": 1,
        "raised": 0,
        "reopened": 0,
        "resolved": 0,
        "warned": 0,
        "failed": 0,
    }
    (escalation,) = w.escalations()
    assert escalation.level == 1
    assert escalation.due_by == NOW + timedelta(hours=48)
    assert "yellow or worse for 14 days" in escalation.reason


def test_one_weekly_yellow_opens_nothing():
    w = World(period="weekly")
    w.read(_weeks_back(2), "99.95")
    w.read(_weeks_back(1), "99.7")
    w.evaluate()
    assert w.escalations() == []


def test_one_yellow_month_opens_level_one():
    w = World()
    w.read(date(2026, 9, 1), "99.95")
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    assert (escalation.level, escalation.kind) == (1, "performance")


def test_red_for_a_week_goes_to_level_two_and_leadership_gets_an_email():
    w = World()
    w.read(date(2026, 9, 1), "99.95")
    w.read(date(2026, 10, 1), "99.2")  # 31 red days
    w.evaluate()
    (escalation,) = w.escalations()
    assert escalation.level == 2
    assert escalation.reached_red
    assert notify.send_pending() == 2  # leadership and the owner
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == ["bob@example.com", "lena@example.com"]
    message = next(m for m in mail.outbox if m.to == ["lena@example.com"])
    assert message.subject.startswith("[slagov] Level 2 escalation:")
    assert "Oct 2026  99.2 %  Red (breach)" in message.body
    assert "Red now: 99.2 % is 0.3 % past the minimum (99.5 %)." in message.body
    assert "/ack/" in message.body
    assert message.alternatives
    assert "Acknowledge" in message.alternatives[0][0]


def test_forecast_red_while_green_is_an_early_warning_at_level_zero():
    w = World(direction="lower", target="24", minimum="25", unit="hours")
    values = ["15", "15.2", "14.9", "15.1", "15.3", "17", "19.4", "21.7", "23.9"]
    for i, value in enumerate(values):
        w.read(date(2026, 2 + i, 1), value)
    w.evaluate()
    (escalation,) = w.escalations()
    assert escalation.level == 0
    assert "forecast to turn red in Nov 2026 (" in escalation.reason
    assert "% next month" in escalation.reason
    with scopes_disabled():
        assert [e.kind for e in escalation.events.all()] == ["forecast"]
    notify.send_pending()
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]  # the owner only


def test_worse_condition_raises_the_open_escalation():
    w = World()
    w.read(date(2026, 9, 1), "99.7")
    w.evaluate(now=datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    w.read(date(2026, 10, 1), "99.1")
    assert w.evaluate()["raised"] == 1
    (escalation,) = w.escalations()
    assert escalation.level == 2
    with scopes_disabled():
        kinds = list(escalation.events.values_list("kind", flat=True))
    assert kinds == ["opened", "raised"]


def test_missed_due_by_goes_one_level_up_once():
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    later = NOW + timedelta(hours=49)
    assert evaluate.sweep_missed_due(now=later).done == 1
    assert evaluate.sweep_missed_due(now=later).done == 0
    escalation.refresh_from_db()
    assert escalation.level == 2
    assert escalation.due_missed_at == later


def test_meeting_in_time_meets_the_due_by_and_is_in_the_timeline():
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    held = datetime.now(UTC) - timedelta(minutes=10)
    with scopes_disabled():
        Escalation.objects.filter(pk=escalation.pk).update(due_by=held + timedelta(hours=1))
        escalation.refresh_from_db()
        services.escalation_record_meeting(
            escalation=escalation,
            actor=w.bob,
            held_at=held,
            attendees="Bob Brennan\nDana Diaz (vendor)",
            notes="parts bottleneck",
        )
        escalation.refresh_from_db()
        last = escalation.events.last()
    assert escalation.due_met_at == held
    assert last.kind == "meeting"
    assert "The due-by is met" in last.message
    assert evaluate.sweep_missed_due(now=held + timedelta(hours=2)).done == 0


def test_back_to_green_resolves_on_its_own():
    w = World()
    w.read(date(2026, 9, 1), "99.7")
    w.evaluate(now=datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    w.read(date(2026, 10, 1), "99.95")
    assert w.evaluate()["resolved"] == 1
    (escalation,) = w.escalations()
    assert (escalation.state, escalation.resolution) == ("resolved", "back_to_green")
    assert not escalation.reached_red  # a breach avoided


def test_a_relapse_within_three_periods_reopens_the_same_escalation_without_new_email():
    w = World()
    w.read(date(2026, 8, 1), "99.7")
    w.evaluate(now=datetime(2026, 9, 8, 9, 0, tzinfo=UTC))
    assert notify.send_pending() == 2  # the owner and the vendor's contact, once
    w.read(date(2026, 9, 1), "99.95")
    w.evaluate(now=datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    w.read(date(2026, 10, 1), "99.7")
    assert w.evaluate()["reopened"] == 1
    (escalation,) = w.escalations()
    assert (escalation.state, escalation.level) == ("open", 1)
    with scopes_disabled():
        kinds = list(escalation.events.values_list("kind", flat=True))
    assert kinds == ["opened", "resolved", "reopened"]
    assert notify.send_pending() == 0


def test_a_condition_that_returns_after_three_periods_opens_a_new_escalation():
    w = World()
    w.read(date(2026, 5, 1), "99.7")
    w.evaluate(now=datetime(2026, 6, 8, 9, 0, tzinfo=UTC))
    w.read(date(2026, 6, 1), "99.95")
    w.evaluate(now=datetime(2026, 7, 8, 9, 0, tzinfo=UTC))
    for month in (7, 8, 9):
        w.read(date(2026, month, 1), "99.95")
    w.read(date(2026, 10, 1), "99.7")
    assert w.evaluate()["opened"] == 1
    assert [e.state for e in w.escalations()] == ["resolved", "open"]


def test_evaluating_five_times_gives_one_escalation_and_one_email_per_recipient():
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    for _ in range(5):
        w.evaluate()
        notify.send_pending()
    assert len(w.escalations()) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "lena@example.com"]


def test_compliance_contract_gets_no_early_warning_but_red_still_escalates():
    w = World(annual_value=Decimal("20000"))  # under the 50,000 threshold
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    assert w.escalations() == []
    w.read(date(2026, 9, 1), "99.0")
    with scopes_disabled():
        w.sla.readings.filter(period_start=date(2026, 10, 1)).update(value=Decimal("99.1"))
    w.evaluate()
    assert [e.level for e in w.escalations()] == [2]


def test_data_late_for_a_week_opens_a_data_escalation():
    w = World()
    w.read(date(2026, 9, 1), "99.95")  # October's data was due 5 November
    w.evaluate(now=datetime(2026, 11, 11, 9, 0, tzinfo=UTC))
    assert w.escalations() == []  # late by 6 days
    w.evaluate(now=datetime(2026, 11, 12, 9, 0, tzinfo=UTC))
    (escalation,) = w.escalations()
    assert (escalation.kind, escalation.level) == ("data", 1)
    w.read(date(2026, 10, 1), "99.95")
    w.evaluate(now=datetime(2026, 11, 13, 9, 0, tzinfo=UTC))
    escalation.refresh_from_db()
    assert escalation.resolution == "data_received"


def test_member_who_chose_a_digest_gets_level_one_in_it():
    w = World()
    with scopes_disabled():
        Membership.objects.filter(user=w.bob).update(escalation_delivery="digest")
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    notify.send_pending()
    assert [m.to for m in mail.outbox] == [["ops@vendor.example"]]  # the vendor, at once
    from escalations.digests import send_member_digests

    assert send_member_digests(now=NOW).done == 1
    notify.send_pending()
    assert mail.outbox[-1].to == ["bob@example.com"]
    assert "daily escalation digest" in mail.outbox[-1].subject
    assert send_member_digests(now=NOW).done == 0


class FlakySMTP:
    """An e-mail backend that fails the first time it is used."""

    failures = 1

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        import smtplib

        if FlakySMTP.failures:
            FlakySMTP.failures -= 1
            raise smtplib.SMTPServerDisconnected("connection lost")
        mail.outbox.extend(messages)
        return len(messages)


def test_smtp_error_is_retried_with_backoff(settings):
    settings.EMAIL_BACKEND = "tests.test_escalations.FlakySMTP"
    FlakySMTP.failures = 1
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    assert notify.send_pending() == 1  # one of two failed
    with scopes_disabled():
        failed = Notification.objects.get(state="pending")
    assert failed.attempts == 1
    assert "connection lost" in failed.last_error
    assert failed.next_attempt_at > datetime.now(UTC)
    with scopes_disabled():
        Notification.objects.filter(pk=failed.pk).update(next_attempt_at=NOW)
    assert notify.send_pending() == 1
    assert len(mail.outbox) == 2


def _ack_world():
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    with scopes_disabled():
        notification = Notification.objects.get(email="lena@example.com")
    return w, notification


def test_acknowledge_link_works_once(client):
    w, notification = _ack_world()
    url = reverse("escalation_ack", args=[notify.ack_token(notification)])
    page = client.get(url)
    assert page.status_code == 200
    assert w.escalations()[0].state == "open"  # a GET (a link scanner) changes nothing
    client.post(url)
    escalation = w.escalations()[0]
    assert (escalation.state, escalation.acknowledged_by) == ("acknowledged", w.lena)
    replay = client.post(url)
    assert replay.status_code == 410
    assert "already been used" in replay.content.decode()


def test_acknowledge_link_cannot_be_used_for_another_escalation(client):
    w, notification = _ack_world()
    other_sla = factories.ServiceLevelFactory(organization=w.org, contract=w.contract)
    with scopes_disabled():
        other = Escalation.objects.create(
            organization=w.org,
            contract=w.contract,
            service_level=other_sla,
            kind="performance",
            level=1,
            reason="other",
            opened_at=NOW,
        )
    forged = signing.dumps({"n": notification.ack_nonce, "e": other.pk}, salt=notify.ACK_SALT)
    assert client.post(reverse("escalation_ack", args=[forged])).status_code == 410
    tampered = notify.ack_token(notification)[:-2] + "xx"
    assert client.post(reverse("escalation_ack", args=[tampered])).status_code == 410
    other.refresh_from_db()
    assert other.state == "open"


def test_acknowledge_link_expires(client, settings):
    import time_machine

    _w, notification = _ack_world()
    url = reverse("escalation_ack", args=[notify.ack_token(notification)])
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        response = client.post(url)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_vendor_user_sees_and_acknowledges_their_escalation(client):
    w = World()
    vera = factories.UserFactory(username="vera")
    factories.MembershipFactory(
        organization=w.org, user=vera, role="vendor", vendor=w.contract.vendor
    )
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    client.force_login(vera)
    listing = client.get(reverse("escalations:list", args=[w.org.slug])).content.decode()
    assert f'data-escalation="{escalation.pk}"' in listing
    client.post(reverse("escalations:acknowledge", args=[w.org.slug, escalation.pk]))
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == vera
    with scopes_disabled():
        assert escalation.events.filter(kind=EscalationEvent.Kind.ACKNOWLEDGED).exists()


def test_admin_edits_the_policy_with_validation(client):
    w = World()
    client.force_login(w.alice)
    url = reverse("escalations:policy", args=[w.org.slug])
    page = client.get(url)
    formset = page.context["formset"]
    data = {
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "12",
        "steps-0-condition": "state",
        "steps-0-state": "",
        "steps-0-threshold": "10",
        "steps-0-level": "1",
        "steps-0-recipients": ["owner"],
        "steps-0-action": "Meet",
    }
    assert len(formset.forms) == 6  # five default steps and a blank one
    refused = client.post(url, data)
    assert "Say which state" in refused.content.decode()
    data["steps-0-state"] = "red"
    assert client.post(url, data).status_code == 302
    with scopes_disabled():
        from escalations.models import EscalationStep

        steps = list(EscalationStep.objects.filter(organization=w.org))
    assert [(s.condition, s.state, s.threshold) for s in steps] == [("state", "red", 10)]
    client.force_login(w.bob)
    assert client.post(url, data).status_code == 403  # account managers read, admins write


def test_managers_and_leadership_read_the_policy_as_a_table_not_a_form(client):
    w = World()
    url = reverse("escalations:policy", args=[w.org.slug])
    for user in (w.bob, w.lena):
        client.force_login(user)
        response = client.get(url)
        html = response.content.decode()
        assert "formset" not in response.context
        steps = html.split('id="policy-steps"')[1].split("</table>")[0]
        assert "Yellow or worse for 14 days" in steps
        assert "Red for 7 days" in steps
        assert "48 hours" in steps
        assert "Leadership" in steps
        assert "<input" not in html.split("<main")[1]
        assert "Save policy" not in html
    assert client.post(url, {"steps-TOTAL_FORMS": "0"}).status_code == 403


def test_leadership_page_lists_level_two(client):
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    client.force_login(w.lena)
    html = client.get(reverse("escalations:leadership", args=[w.org.slug])).content.decode()
    assert f"{w.contract.reference} · avail" in html.split("Escalated to leadership")[1]


def _api(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    return api


def test_escalation_api_lists_acknowledges_and_resolves():
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    (escalation,) = w.escalations()
    base = f"/api/v1/o/{w.org.slug}/escalations/"
    listed = _api(w.bob).get(base, {"level": 2, "state": "open"}).json()["results"]
    assert [e["id"] for e in listed] == [escalation.pk]
    ack = _api(w.bob).post(f"{base}{escalation.pk}/acknowledge/")
    assert ack.json()["state"] == "acknowledged"
    assert _api(w.bob).post(f"{base}{escalation.pk}/acknowledge/").status_code == 409
    assert _api(w.bob).post(f"{base}{escalation.pk}/resolve/", {}).status_code == 400
    resolved = _api(w.bob).post(f"{base}{escalation.pk}/resolve/", {"note": "vendor fixed it"})
    body = resolved.json()
    assert (body["state"], body["resolution"]) == ("resolved", "by_hand")
    assert [e["kind"] for e in body["events"]] == ["opened", "acknowledged", "resolved"]


def test_policy_api_admins_write_others_read_vendors_see_nothing():
    w = World()
    vera = factories.UserFactory(username="vera-api")
    factories.MembershipFactory(
        organization=w.org, user=vera, role="vendor", vendor=w.contract.vendor
    )
    base = f"/api/v1/o/{w.org.slug}/escalation-policies/"
    policies = _api(w.bob).get(base).json()["results"]
    assert len(policies) == 1
    assert policies[0]["contract"] is None
    assert len(policies[0]["steps"]) == 5
    steps = [
        {
            "condition": "state",
            "state": "red",
            "threshold": 3,
            "level": 2,
            "recipients": ["leadership"],
            "action": "Tell leadership",
        }
    ]
    url = f"{base}{policies[0]['id']}/"
    assert _api(w.bob).put(url, {"name": "x", "steps": steps}, format="json").status_code == 403
    bad = _api(w.alice).put(url, {"name": "x", "steps": [{**steps[0], "state": ""}]}, format="json")
    assert bad.status_code == 400
    ok = _api(w.alice).put(url, {"name": "Strict", "steps": steps}, format="json")
    assert ok.status_code == 200
    assert [s["threshold"] for s in ok.json()["steps"]] == [3]
    assert _api(vera).get(base).json()["results"] == []


def test_member_chooses_the_daily_digest_in_their_settings(client):
    w = World()
    client.force_login(w.bob)
    url = reverse("preferences", args=[w.org.slug])
    assert client.post(url, {"escalation_delivery": "digest", "title": "AM"}).status_code == 302
    with scopes_disabled():
        assert Membership.objects.get(user=w.bob).escalation_delivery == "digest"


def test_raising_clears_the_acknowledgement_and_sets_the_new_steps_due_by():
    w = World()
    w.read(date(2026, 9, 1), "99.7")
    w.evaluate(now=datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    (escalation,) = w.escalations()
    assert escalation.due_by == datetime(2026, 10, 10, 9, 0, tzinfo=UTC)  # the 48-hour meeting
    with scopes_disabled():
        services.escalation_acknowledge(escalation=escalation, actor=w.bob)
    notify.send_pending()
    mail.outbox.clear()
    w.read(date(2026, 10, 1), "99.1")
    w.evaluate()
    escalation.refresh_from_db()
    assert (escalation.level, escalation.state) == (2, "open")  # a new step to take on
    assert escalation.acknowledged_by is None
    assert escalation.due_by is None  # level 2 has no meeting to hold
    assert escalation.reached_red  # not a breach avoided
    notify.send_pending()
    assert mail.outbox
    for message in mail.outbox:
        assert "Due by" not in message.body  # never the level-1 meeting's deadline
        assert "10 Oct" not in message.body


def test_a_stale_copy_cannot_raise_twice():
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (stale,) = w.escalations()
    with scopes_disabled():
        from escalations.models import EscalationStep

        red = EscalationStep.objects.get(organization=w.org, condition="state", state="red")
        services.escalation_raise(escalation=stale, step=red, reason="red", now=NOW)
        again = Escalation.objects.get(pk=stale.pk)
        again.level = 1  # a second evaluation that loaded it before the first raised it
        services.escalation_raise(escalation=again, step=red, reason="red", now=NOW)
        assert stale.events.filter(kind="raised").count() == 1


def test_a_meeting_before_the_escalation_does_not_meet_its_due_by():
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    from django.core.exceptions import ValidationError

    with scopes_disabled(), pytest.raises(ValidationError, match="after the escalation opened"):
        services.escalation_record_meeting(
            escalation=escalation,
            actor=w.bob,
            held_at=datetime(2020, 1, 1, tzinfo=UTC),
            attendees="Bob\nDana",
        )


def test_leadership_reads_but_does_not_resolve_or_record_meetings(client):
    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    client.force_login(w.lena)
    assert (
        client.post(
            reverse("escalations:resolve", args=[w.org.slug, escalation.pk]), {"note": "done"}
        ).status_code
        == 403
    )
    meeting = client.post(
        reverse("escalations:meeting", args=[w.org.slug, escalation.pk]),
        {"held_at": "2026-11-25T10:00", "attendees": "A\nB"},
    )
    assert meeting.status_code == 403
    escalation.refresh_from_db()
    assert escalation.state == "open"


def test_a_former_owner_gets_no_more_escalation_email():
    w = World()
    with scopes_disabled():
        Membership.objects.filter(user=w.bob).update(is_active=False)
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    notify.send_pending()
    assert [m.to for m in mail.outbox] == [["lena@example.com"]]


def test_a_late_week_in_between_breaks_the_yellow_run():
    w = World(period="weekly")
    w.read(_weeks_back(4), "99.95")
    w.read(_weeks_back(3), "99.7")
    # week 2 is missing (late), week 1 is yellow again
    w.read(_weeks_back(1), "99.7")
    w.evaluate()
    assert [e.kind for e in w.escalations() if e.kind == "performance"] == []


def test_a_broken_notification_does_not_block_the_others(monkeypatch):
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    original = notify.render

    def render(notification):
        if notification.email == "bob@example.com":
            raise ValueError("cannot render")
        return original(notification)

    monkeypatch.setattr(notify, "render", render)
    assert notify.send_pending() == 1
    assert [m.to for m in mail.outbox] == [["lena@example.com"]]
    with scopes_disabled():
        broken = Notification.objects.get(email="bob@example.com")
    # Not a relay's passing trouble: trying again would fail the same way. It fails
    # at once, with its reason, for an admin to see (and send again once mended).
    assert (broken.state, broken.attempts) == ("failed", 1)
    assert "cannot render" in broken.last_error
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert notify.send_pending() == 0


@pytest.mark.parametrize("leaders", [1, 6])
def test_each_email_costs_the_same_few_queries_however_many_recipients(
    leaders, django_assert_max_num_queries
):
    w = World()
    for n in range(leaders):
        w.member(f"leader{n}", Membership.Role.LEADERSHIP)
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    sent = leaders + 2  # lena, the other leaders and the owner
    # Per e-mail: the claim's transaction (the row, its lease), the row with all the
    # e-mail shows, the SLA's last periods and the update. Once: the final, empty claim.
    with django_assert_max_num_queries(7 * sent + 4):
        assert notify.send_pending() == sent
    subjects = {m.subject for m in mail.outbox}
    assert subjects == {f"[slagov] Level 2 escalation: {w.contract.reference} {w.sla.name}"}
    assert all(w.contract.vendor.name in m.body for m in mail.outbox)


def _more_slas(w, n: int) -> list:
    slas = [w.sla]
    for i in range(n - 1):
        sla = factories.ServiceLevelFactory(organization=w.org, contract=w.contract, code=f"s{i}")
        factories.TermsFactory(
            organization=w.org, service_level=sla, target=Decimal("99.9"), minimum=Decimal("99.5")
        )
        slas.append(sla)
    return slas


def _evaluate_all(w, slas, now):
    ids = [s.pk for s in slas]
    engine.recompute(organization_id=w.org.pk, service_level_ids=ids, today=now.date())
    return evaluate.evaluate(
        organization_id=w.org.pk, service_level_ids=ids, today=now.date(), now=now
    )


def test_raising_reuses_the_contracts_the_evaluation_loaded(django_assert_max_num_queries):
    w = World()
    slas = _more_slas(w, 4)
    for sla in slas:
        factories.ReadingFactory(organization=w.org, service_level=sla,
                                 period_start=date(2026, 9, 1), value=Decimal("99.7"))  # fmt: skip
    _evaluate_all(w, slas, datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    for sla in slas:
        factories.ReadingFactory(organization=w.org, service_level=sla,
                                 period_start=date(2026, 10, 1), value=Decimal("99.1"))  # fmt: skip
    ids = [s.pk for s in slas]
    engine.recompute(organization_id=w.org.pk, service_level_ids=ids, today=TODAY)
    # Fixed: open escalations, the latest resolved ones, open vendor warnings, open
    # forecast episodes, the SLAs' facts and health (one statement on PostgreSQL; the
    # SLAs, statuses and health elsewhere), their contracts, the policy and its steps, the
    # SLAs acted on, the members, the chunk's transaction. Per raise: noting the breach,
    # the raise in its own transaction, re-reading what it changed, the event, the outbox.
    # (SQLite reads the facts in Python: the SLAs once more.)
    fixed = 13 if connection.vendor == "postgresql" else 14
    with django_assert_max_num_queries(fixed + 7 * len(slas)):
        counts = evaluate.evaluate(
            organization_id=w.org.pk, service_level_ids=ids, today=TODAY, now=NOW
        )
    assert counts["raised"] == len(slas)
    with scopes_disabled():
        assert Notification.objects.filter(organization=w.org, event__kind="raised").count() == 8


def test_missed_due_by_sweep_loads_policy_and_people_once_per_organisation(
    django_assert_max_num_queries,
):
    w = World()
    slas = _more_slas(w, 4)
    for sla in slas:
        factories.ReadingFactory(organization=w.org, service_level=sla,
                                 period_start=date(2026, 10, 1), value=Decimal("99.7"))  # fmt: skip
    assert _evaluate_all(w, slas, NOW)["opened"] == 4
    # Fixed: the organisations, one's overdue escalations, its policy, its steps and its
    # members, and the savepoint that isolates the organisation (this test runs inside a
    # transaction; in autocommit there is none). Per escalation: its transaction, the
    # claim, re-reading it, the event and the outbox rows.
    with django_assert_max_num_queries(7 + 6 * len(slas)):
        assert evaluate.sweep_missed_due(now=NOW + timedelta(hours=49)).done == 4
    with scopes_disabled():
        rows = Notification.objects.filter(organization=w.org, event__kind="due_missed")
        assert (
            sorted(rows.values_list("email", flat=True))
            == ["bob@example.com"] * 4 + ["lena@example.com"] * 4
        )
    assert {e.level for e in w.escalations()} == {2}


def test_one_evaluation_asks_for_sending_once_and_the_request_sends(
    django_capture_on_commit_callbacks,
):
    w = World()
    slas = _more_slas(w, 4)
    for sla in slas:
        factories.ReadingFactory(organization=w.org, service_level=sla,
                                 period_start=date(2026, 10, 1), value=Decimal("99.2"))  # fmt: skip
    ids = [s.pk for s in slas]
    engine.recompute(organization_id=w.org.pk, service_level_ids=ids, today=TODAY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = evaluate.evaluate(
            organization_id=w.org.pk, service_level_ids=ids, today=TODAY, now=NOW
        )
    assert counts["opened"] == 4
    assert callbacks == [notify._send_soon]
    assert len(mail.outbox) == 8  # leadership and the owner, for each


def test_a_rolled_back_savepoint_takes_its_request_to_send_with_it(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    def ask_then_fail():
        with transaction.atomic():
            notify.send_after_commit()
            raise RuntimeError

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            ask_then_fail()
        notify.send_after_commit()
        notify.send_after_commit()
    assert callbacks == [notify._send_soon]


@pytest.mark.django_db(transaction=True)
def test_the_cron_command_reports_the_emails_its_sweep_sent():
    import io

    import time_machine
    from django.core.management import call_command

    w = World()
    w.read(date(2026, 10, 1), "99.2")
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        engine.recompute(organization_id=w.org.pk, service_level_ids=[w.sla.pk], today=TODAY)
        call_command("evaluate_escalations", stdout=out)
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "lena@example.com"]
    assert out.getvalue().strip().endswith("; 2 notifications sent.")


def test_weekly_leadership_digest_is_written_once_for_all_leaders(monkeypatch):
    from escalations import digests

    w = World()
    w.member("lars", Membership.Role.LEADERSHIP)
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    notify.send_pending()  # the escalation's own e-mails
    mail.outbox.clear()
    renders = []
    original = notify.render_to_string

    def render_to_string(*args, **kwargs):
        renders.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(notify, "render_to_string", render_to_string)
    assert digests.send_leadership_digests(now=NOW).done == 2
    assert renders == ["email/leadership_digest.txt"]
    # The task delivered again the same week (a worker died before acknowledging it).
    assert digests.send_leadership_digests(now=NOW + timedelta(hours=3)).done == 0
    notify.send_pending()
    assert sorted(m.to[0] for m in mail.outbox) == ["lars@example.com", "lena@example.com"]
    (body,) = {m.body for m in mail.outbox}
    assert f"- level 2 · {w.contract.reference}: {w.sla.name} has been red for " in body
    assert f"Red SLAs: 1\n- {w.contract.reference} {w.sla.name}: 99.2 %" in body
    assert mail.outbox[0].subject.endswith(": 1 open escalation, 1 red SLA this week")


def test_policy_api_checks_steps_like_the_policy_page():
    w = World()
    base = f"/api/v1/o/{w.org.slug}/escalation-policies/"
    (policy,) = _api(w.alice).get(base).json()["results"]
    step = {"condition": "forecast", "threshold": 0, "level": 6, "recipients": ["owner"],
            "action": "Warn"}  # fmt: skip
    refused = _api(w.alice).put(f"{base}{policy['id']}/", {"steps": [step]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["steps"] == {
        "0": {
            "threshold": ["How many periods? It must be at least 1."],
            "level": ["Levels go from 0 (early warning) to 5."],
        }
    }


def test_a_refused_meeting_shows_the_escalation_again_with_the_form_as_posted(client):
    import time_machine
    from django.utils import timezone

    w = World()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    (escalation,) = w.escalations()
    client.force_login(w.bob)
    held = timezone.localtime(NOW + timedelta(hours=1))
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        response = client.post(
            reverse("escalations:meeting", args=[w.org.slug, escalation.pk]),
            {"held_at": f"{held:%Y-%m-%dT%H:%M}", "attendees": "Bob alone",
             "notes": "parts bottleneck"},
        )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "List who took part from both sides" in html
    assert "parts bottleneck" in html
    assert response.context["escalation"] == escalation
    assert [e.kind for e in response.context["events"]] == ["opened"]


def test_contract_policy_page_takes_gets_and_posts_only(client):
    w = World()
    client.force_login(w.alice)
    url = reverse("escalations:contract_policy", args=[w.org.slug, w.contract.pk])
    assert "follows the default escalation policy" in client.get(url).content.decode()
    assert client.put(url).status_code == 405
    assert client.post(url, {"create": "1"}).status_code == 302
    assert client.get(url).context["policy"].contract == w.contract
    assert client.put(url).status_code == 405
    assert client.post(url, {"remove": "1"}).status_code == 302
    assert "follows the default escalation policy" in client.get(url).content.decode()


def test_api_refuses_resolving_to_leadership_and_policy_changes_to_managers():
    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    (escalation,) = w.escalations()
    base = f"/api/v1/o/{w.org.slug}"
    refused = _api(w.lena).post(f"{base}/escalations/{escalation.pk}/resolve/", {"note": "x"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only admins and account managers can change this."
    (policy,) = _api(w.bob).get(f"{base}/escalation-policies/").json()["results"]
    refused = _api(w.bob).put(f"{base}/escalation-policies/{policy['id']}/", policy, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only organisation admins can change this."
    escalation.refresh_from_db()
    assert escalation.state == "open"


def test_without_named_contacts_an_escalation_tells_all_the_vendors_contacts_and_users():
    w = World()
    vera = factories.UserFactory(username="vera", email="vera@vendor.example")
    factories.MembershipFactory(
        organization=w.org, user=vera, role="vendor", vendor=w.contract.vendor
    )
    with scopes_disabled():
        w.contract.vendor_contacts.clear()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    with scopes_disabled():
        rows = dict(Notification.objects.values_list("email", "user"))
    assert rows == {"bob@example.com": w.bob.pk, "ops@vendor.example": None,
                    "vera@vendor.example": vera.pk}  # fmt: skip


def test_a_vendor_user_who_is_also_a_contact_gets_one_copy_whatever_the_case_of_the_address():
    w = World()
    ops = factories.UserFactory(username="ops", email=" Ops@Vendor.Example")
    factories.MembershipFactory(
        organization=w.org, user=ops, role="vendor", vendor=w.contract.vendor
    )
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    notify.send_pending()
    with scopes_disabled():
        rows = dict(Notification.objects.values_list("email", "user"))
    # The contact entry and the login are one person: one row, with the login (its link works).
    assert rows == {"bob@example.com": w.bob.pk, "ops@vendor.example": ops.pk}
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "ops@vendor.example"]


def test_escalation_emails_carry_the_brand_and_tell_a_contact_without_a_login_how_to_get_in():
    w = World()
    w.bob.first_name, w.bob.last_name = "Bob", "Brennan"
    w.bob.save()
    w.read(date(2026, 10, 1), "99.7")
    w.evaluate()
    notify.send_pending()
    by_address = {m.to[0]: m for m in mail.outbox}
    contact, owner = by_address["ops@vendor.example"], by_address["bob@example.com"]
    for message in (contact, owner):
        html = message.alternatives[0][0]
        header = html.split("</div>", 1)[0]  # the brand bar, before the message
        assert ">slagov</strong>" in header
        assert f" · {w.org.name}</span>" in header
        assert f"slagov, on behalf of {w.org.name}" in message.body
        assert f"{w.sla.name} (avail)" in message.body  # the SLA by its name
        # The period's target and minimum, in the HTML table as in the text.
        assert "(target 99.9 %, minimum 99.5 %)" in message.body
        assert ">99.9 %</td><td" in html
    ask = (
        "You have no slagov login: the links ask you to sign in. "
        "Ask Bob Brennan (bob@example.com) for one."
    )
    assert ask in contact.body
    assert ask in contact.alternatives[0][0]
    assert "no slagov login" not in owner.body  # a member signs in
