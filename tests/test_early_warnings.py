"""
Early warnings that reach people before the breach, and escalations people
can trust: forecast episodes, quiet periods after a manual resolve, relapses,
new levels as new steps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled

from escalations import evaluate, notify, services
from escalations.models import Escalation, EscalationEvent, ForecastEpisode
from metrics import engine
from slagov.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

# The creeping mean time to repair: lower is better, target 24 h, minimum 25 h.
FLAT = ["15.2", "15.0", "15.4", "14.9", "15.3", "15.1", "14.8", "15.6", "15.3"]


def at(year, month, day=3):
    return datetime(year, month, day, 6, 0, tzinfo=UTC)


class World:
    def __init__(self, *, target="24", minimum="25", direction="lower", unit="hours",
                 annual_value=Decimal("650000"), start=date(2025, 1, 1)):  # fmt: skip
        self.org = factories.OrganizationFactory(slug="warn")
        self.bob = self.member("bob", Membership.Role.ACCOUNT_MANAGER)
        self.lena = self.member("lena", Membership.Role.LEADERSHIP)
        vendor = factories.VendorFactory(organization=self.org)
        self.contact = factories.VendorContactFactory(
            organization=self.org, vendor=vendor, email="ops@vendor.example"
        )
        self.contract = factories.ContractFactory(
            organization=self.org, vendor=vendor, owner=self.bob, annual_value=annual_value,
            start_date=start, end_date=date(2029, 12, 31),
        )  # fmt: skip
        with scopes_disabled():
            self.contract.vendor_contacts.add(
                self.contact, through_defaults={"organization": self.org}
            )
        self.sla = factories.ServiceLevelFactory(
            organization=self.org, contract=self.contract, code="mttr", name="Mean time to repair",
            direction=direction, unit=unit,
        )  # fmt: skip
        factories.TermsFactory(
            organization=self.org, service_level=self.sla, target=Decimal(target),
            minimum=Decimal(minimum),
        )  # fmt: skip
        self.month = start

    def member(self, username, role):
        user = factories.UserFactory(username=username)
        factories.MembershipFactory(organization=self.org, user=user, role=role)
        return user

    def month_of(self, value: str) -> dict:
        """The next month's value goes in; the rules run on the 3rd of the month after."""
        factories.ReadingFactory(
            organization=self.org, service_level=self.sla, period_start=self.month,
            value=Decimal(value),
        )  # fmt: skip
        self.month = date(self.month.year + self.month.month // 12, self.month.month % 12 + 1, 1)
        return self.evaluate(at(self.month.year, self.month.month))

    def evaluate(self, now):
        engine.recompute(
            organization_id=self.org.pk, service_level_ids=[self.sla.pk], today=now.date()
        )
        return evaluate.evaluate(
            organization_id=self.org.pk, service_level_ids=[self.sla.pk], today=now.date(), now=now
        )

    def escalations(self) -> list[Escalation]:
        with scopes_disabled():
            return list(Escalation.objects.filter(organization=self.org).order_by("pk"))

    def episodes(self) -> list[ForecastEpisode]:
        with scopes_disabled():
            return list(ForecastEpisode.objects.filter(organization=self.org).order_by("pk"))

    def kinds(self, escalation) -> list[str]:
        with scopes_disabled():
            return list(escalation.events.values_list("kind", flat=True))


def sent() -> list:
    notify.send_pending()
    messages = list(mail.outbox)
    mail.outbox.clear()
    return messages


def test_a_creeping_repair_time_warns_its_owner_by_email_before_the_breach():
    w = World()
    for value in [*FLAT, "17.0", "19.4", "21.7"]:
        w.month_of(value)
    assert w.episodes() == []  # the risk of red within two months is not yet sure enough
    assert sent() == []
    assert w.month_of("23.9")["warned"] == 1  # still green, red next month more likely than not
    (episode,) = w.episodes()
    (escalation,) = w.escalations()
    assert (escalation.level, escalation.state) == (0, "open")
    assert episode.escalation == escalation
    assert w.kinds(escalation) == ["forecast"]
    (message,) = sent()
    assert message.to == ["bob@example.com"]  # the contract owner
    assert message.subject == (
        f"[slagov] Early warning, breach forecast: {w.contract.reference} Mean time to repair"
    )
    assert "forecast to turn red in Feb 2026" in message.body
    assert "% next month" in message.body
    assert "Forecast (expected value, 80 % band):" in message.body
    assert "Target 24 h (green at or below), minimum 25 h (red when above)" in message.body
    assert "Jan 2026  23.9 h  Green" in message.body
    assert "Drifting: 4 rises in a row" in message.body


def test_one_email_per_episode_however_often_the_rules_run():
    w = World()
    for value in [*FLAT, "17.0", "19.4", "21.7", "23.9"]:
        w.month_of(value)
    assert len(sent()) == 1
    for hour in range(1, 6):  # the hourly job, again and again
        w.evaluate(at(2026, 2) + timedelta(hours=hour))
    assert sent() == []
    assert len(w.episodes()) == 1


def test_the_forecast_is_told_even_while_a_level_one_escalation_is_open():
    # Availability (higher is better) yellow for a month: level 1 opens and stays open.
    w = World(target="99.9", minimum="99.5", direction="higher", unit="percent")
    for value in ["99.95", "99.96", "99.94", "99.95", "99.97", "99.95", "99.94", "99.96"]:
        w.month_of(value)
    w.month_of("99.85")  # yellow: level 1, the owner and the vendor told
    (escalation,) = w.escalations()
    assert escalation.level == 1
    assert len(sent()) == 2
    counts = w.month_of("99.62")  # sliding fast toward 99.5
    assert counts["warned"] == 1
    (same,) = w.escalations()
    assert same.pk == escalation.pk  # on the SLA's open escalation, no second one
    assert w.kinds(same) == ["opened", "forecast"]
    (message,) = sent()  # the owner, once
    assert message.to == ["bob@example.com"]
    assert "Early warning, breach forecast" in message.subject


def test_a_new_episode_starts_only_after_the_forecast_has_cleared():
    w = World()
    for value in [*FLAT, "17.0", "19.4", "21.7", "23.9"]:
        w.month_of(value)
    assert len(sent()) == 1
    w.month_of("22.5")  # turned back: still a risk? the episode goes on while it warns
    for value in ["18.0", "15.5", "15.2"]:
        w.month_of(value)  # cleared: back to where it was
    (episode,) = w.episodes()
    assert episode.cleared_at is not None
    (escalation,) = w.escalations()
    assert escalation.resolution in {"forecast_cleared", "back_to_green"}
    sent()
    for value in ["15.1", "15.4", "18.0", "21.0", "23.5", "24.6"]:
        w.month_of(value)  # a new creep: a new episode, a new e-mail
    assert len(w.episodes()) == 2
    assert len([m for m in sent() if "Early warning" in m.subject]) == 1


def test_a_breach_during_the_episode_is_recorded_as_warned_ahead():
    w = World()
    for value in [*FLAT, "17.0", "19.4", "21.7", "23.9", "26.2"]:
        w.month_of(value)
    (episode,) = w.episodes()
    assert episode.breached_period == date(2026, 2, 1)
    assert episode.period == date(2026, 1, 1)  # warned with January's data, red in February
    assert episode.cleared_at is None  # red: the episode goes on until the forecast clears


def test_compliance_contracts_get_no_forecast_warning():
    w = World(annual_value=Decimal("20000"))  # under the 50,000 threshold: compliance mode
    for value in [*FLAT, "17.0", "19.4", "21.7", "23.9"]:
        w.month_of(value)
    assert w.episodes() == []
    assert w.escalations() == []
    assert sent() == []


def test_two_evaluations_at_once_start_one_episode():
    w = World()
    for value in [*FLAT, "17.0", "19.4", "21.7"]:
        w.month_of(value)
    with scopes_disabled():
        from escalations.policies import steps_by_contract

        step = next(
            s for s in steps_by_contract(w.org.pk, [w.contract.pk])[w.contract.pk]
            if s.condition == "forecast"
        )  # fmt: skip
        w.sla.refresh_from_db()
        services.forecast_warn(service_level=w.sla, step=step, reason="r", period=w.month,
                               risk=[0.9], quiet=None, now=at(2026, 1))  # fmt: skip
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            services.forecast_warn(service_level=w.sla, step=step, reason="r", period=w.month,
                                   risk=[0.9], quiet=None, now=at(2026, 1))  # fmt: skip
    assert len(w.episodes()) == 1


# --- Escalations people can trust ----------------------------------------------------


RESOLVED_AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # hours after level 1 opened


def yellow_world(start=date(2026, 1, 1)):
    """Availability yellow (99.7 %) in the tenth month (October 2026): level 1 opens."""
    w = World(target="99.9", minimum="99.5", direction="higher", unit="percent",
              start=start)  # fmt: skip
    for value in ["99.95", "99.96", "99.94", "99.95", "99.97", "99.95", "99.94", "99.96", "99.95"]:
        w.month_of(value)
    w.month_of("99.7")
    (escalation,) = w.escalations()
    assert escalation.level == 1
    sent()
    return w, escalation


def test_a_manual_resolve_with_a_quiet_period_survives_the_hourly_run():
    w, escalation = yellow_world()
    tenant = _tenant(w)
    with scopes_disabled(), time_machine.travel(RESOLVED_AT, tick=False):
        services.escalation_resolve(
            escalation=escalation, actor=w.bob, note="Known parts issue, fix due in January",
            quiet_until=date(2027, 1, 31), tenant=tenant,
        )  # fmt: skip
    for hour in range(5, 29):  # still yellow: a day of hourly runs
        counts = w.evaluate(at(2026, 11) + timedelta(hours=hour))
        assert counts["opened"] == counts["reopened"] == 0
    (same,) = w.escalations()
    assert same.state == "resolved"
    assert same.quiet
    assert sent() == []  # nobody e-mailed again
    with scopes_disabled():
        resolved = same.events.get(kind="resolved")
    assert resolved.message == (
        "Resolved by hand: Known parts issue, fix due in January "
        "Quiet until 31 Jan 2027 unless it gets worse."
    )


def test_worse_than_the_accepted_level_reopens_and_tells_the_new_steps_recipients():
    w, escalation = yellow_world()
    with scopes_disabled(), time_machine.travel(RESOLVED_AT, tick=False):
        services.escalation_resolve(
            escalation=escalation, actor=w.bob, note="Accepted for now", tenant=_tenant(w)
        )
    w.month_of("99.2")  # red for a month: level 2, worse than the level 1 accepted
    (same,) = w.escalations()
    assert (same.state, same.level) == ("open", 2)
    assert not same.quiet
    assert w.kinds(same)[-1] == "reopened"
    messages = sent()
    assert sorted(m.to[0] for m in messages) == ["bob@example.com", "lena@example.com"]
    assert all(m.subject.startswith("[slagov] Reopened at level 2") for m in messages)


def test_a_quiet_period_that_ends_while_it_still_holds_reopens_and_tells():
    w, escalation = yellow_world()
    with scopes_disabled(), time_machine.travel(RESOLVED_AT, tick=False):
        services.escalation_resolve(
            escalation=escalation, actor=w.bob, note="Accepted", quiet_until=date(2026, 11, 20),
            tenant=_tenant(w),
        )  # fmt: skip
    w.evaluate(at(2026, 11, 20))
    assert w.escalations()[0].state == "resolved"  # the last quiet day
    w.month_of("99.7")  # still yellow in December
    (same,) = w.escalations()
    assert same.state == "open"
    with scopes_disabled():
        reopened = same.events.filter(kind="reopened").get()
    assert "The quiet period until 20 Nov 2026 has ended and it still holds" in reopened.message
    assert len(sent()) == 2  # the owner and the vendor's contact


def test_back_to_green_ends_a_quiet_period():
    w, escalation = yellow_world()
    with scopes_disabled(), time_machine.travel(RESOLVED_AT, tick=False):
        services.escalation_resolve(
            escalation=escalation, actor=w.bob, note="Accepted", tenant=_tenant(w)
        )
    w.month_of("99.95")
    (same,) = w.escalations()
    assert not same.quiet
    assert w.kinds(same)[-1] == "quiet_ended"


def test_a_quiet_period_date_must_be_from_today_to_a_year_ahead():
    w, escalation = yellow_world()
    with (
        scopes_disabled(),
        time_machine.travel(RESOLVED_AT, tick=False),
        pytest.raises(ValidationError) as error,
    ):
        services.escalation_resolve(
            escalation=escalation, actor=w.bob, note="x", quiet_until=date(2020, 1, 1),
            tenant=_tenant(w),
        )  # fmt: skip
    assert "quiet_until" in error.value.message_dict
    assert w.escalations()[0].state == "open"  # nothing half-written


def test_a_resolved_escalation_is_resolved_by_hand_with_a_quiet_period_from_the_page(client):
    w, escalation = yellow_world()
    client.force_login(w.bob)
    url = reverse("escalations:resolve", args=[w.org.slug, escalation.pk])
    response = client.post(url, {"note": "Accepted", "quiet_until": "1999-01-01"})
    assert response.status_code == 400
    assert "Choose a day from today on" in response.content.decode()
    response = client.post(url, {"note": "Accepted", "quiet_until": "2031-01-01"})
    assert "A quiet period lasts at most a year" in response.content.decode()
    response = client.post(url, {"note": "Accepted", "quiet_until": "2026-13-01"})
    assert response.status_code == 400
    assert w.escalations()[0].state == "open"
    quiet = (date.today() + timedelta(days=30)).isoformat()
    response = client.post(url, {"note": "Accepted for a month", "quiet_until": quiet})
    assert response.status_code == 302
    page = client.get(reverse("escalations:detail", args=[w.org.slug, escalation.pk]))
    html = page.content.decode()
    assert "a known risk, accepted" in html
    assert "quiet while no worse than level 1" in html


def test_the_api_resolves_with_a_quiet_period_and_refuses_a_past_one():
    from tests.conftest import token_client

    w, escalation = yellow_world()
    api = token_client(w.org, w.bob)
    url = f"/api/v1/o/{w.org.slug}/escalations/{escalation.pk}/resolve/"
    response = api.post(url, {"note": "x", "quiet_until": "2001-01-01"}, format="json")
    assert response.status_code == 400
    assert "quiet_until" in response.json()
    quiet = (date.today() + timedelta(days=10)).isoformat()
    response = api.post(url, {"note": "Accepted", "quiet_until": quiet}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["quiet_level"], body["quiet_until"]) == ("resolved", 1, quiet)


def test_a_relapse_reopens_the_same_escalation_higher_and_tells_only_then():
    w, _escalation = yellow_world(start=date(2025, 6, 1))  # the e-mails are due by today
    w.month_of("99.95")  # back to green: resolved on its own
    assert w.escalations()[0].state == "resolved"
    w.month_of("99.75")  # yellow again a month later: the same one, nobody e-mailed
    (same,) = w.escalations()
    assert (same.state, same.level) == ("open", 1)
    assert sent() == []
    w.month_of("99.95")
    w.month_of("99.3")  # red: back, and worse than before: level 2, told
    (same,) = w.escalations()
    assert same.level == 2
    assert w.kinds(same)[-1] == "reopened"
    assert sorted(m.to[0] for m in sent()) == ["bob@example.com", "lena@example.com"]


def test_hovering_around_the_target_for_a_year_opens_one_escalation():
    w = World(target="99.9", minimum="99.5", direction="higher", unit="percent")
    for value in ["99.95", "99.94", "99.96", "99.95"]:
        w.month_of(value)
    for value in ["99.85", "99.93", "99.88", "99.91", "99.87", "99.92"] * 2:
        w.month_of(value)
    assert len(w.escalations()) == 1
    assert len([m for m in sent() if "Level 1" in m.subject]) == 2  # owner + vendor, once


def test_a_due_missed_raise_clears_the_acknowledgement_and_emails_no_old_deadline():
    w, escalation = yellow_world()
    with scopes_disabled():
        services.escalation_acknowledge(escalation=escalation, actor=w.bob)
    later = escalation.due_by + timedelta(hours=1)
    assert evaluate.sweep_missed_due(now=later).done == 1
    escalation.refresh_from_db()
    assert (escalation.level, escalation.state, escalation.acknowledged_by) == (2, "open", None)
    for message in sent():
        assert "Due by:" not in message.body


def test_escalation_events_say_when_they_set_a_due_by():
    _w, escalation = yellow_world()
    with scopes_disabled():
        opened = escalation.events.get(kind=EscalationEvent.Kind.OPENED)
    assert opened.due_by == escalation.due_by


def _tenant(w):
    from slagov.tenancy import Tenant

    with scopes_disabled():
        membership = Membership.objects.get(organization=w.org, user=w.bob)
    return Tenant(organization=w.org, membership=membership)
