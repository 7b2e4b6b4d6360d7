"""
Early warnings and trustworthy escalations end to end, on the real services:
a Celery worker on Redis evaluates and sends, an SMTP server on loopback
receives (a message counts once the server answered 250).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from escalations import services
from escalations.models import Escalation, ForecastEpisode
from escalations.tasks import evaluate_escalations, sweep
from metrics import engine
from slagov.models import Membership
from slagov.tenancy import Tenant
from tests import factories
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp, worker  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MONTHLY = periods.Period.MONTHLY


def _months_back(n: int) -> date:
    last = periods.last_closed_period(timezone.localdate(), MONTHLY)
    return periods.add_periods(last, MONTHLY, -n)


def _world(*, code, name, unit, direction, target, minimum):
    org = factories.OrganizationFactory(slug="warn-it")
    bob = factories.UserFactory(username="bob-it", email="bob@northwind.example")
    factories.MembershipFactory(organization=org, user=bob, role=Membership.Role.ACCOUNT_MANAGER)
    lena = factories.UserFactory(username="lena-it", email="lena@northwind.example")
    factories.MembershipFactory(organization=org, user=lena, role=Membership.Role.LEADERSHIP)
    vendor = factories.VendorFactory(organization=org, name="Fleetfix")
    contact = factories.VendorContactFactory(
        organization=org, vendor=vendor, email="ops@fleetfix.example"
    )
    contract = factories.ContractFactory(
        organization=org, vendor=vendor, owner=bob, reference="NW-FLT-001",
        annual_value=Decimal("650000"), start_date=_months_back(20), end_date=date(2030, 12, 31),
    )  # fmt: skip
    with scopes_disabled():
        contract.vendor_contacts.add(contact, through_defaults={"organization": org})
    sla = factories.ServiceLevelFactory(
        organization=org, contract=contract, code=code, name=name, unit=unit,
        direction=direction,
    )  # fmt: skip
    factories.TermsFactory(
        organization=org, service_level=sla, target=Decimal(target), minimum=Decimal(minimum)
    )
    return org, bob, sla


def _read(org, sla, values: list[str]) -> None:
    """The values of the last closed months, the newest last, with their statuses."""
    for back, value in enumerate(reversed(values)):
        factories.ReadingFactory(
            organization=org, service_level=sla, period_start=_months_back(back),
            value=Decimal(value),
        )  # fmt: skip
    engine.recompute(organization_id=org.pk, service_level_ids=[sla.pk])


def test_the_owner_gets_one_forecast_email_before_the_breach_however_often_the_sweep_runs(
    worker,  # noqa: F811
    smtp,  # noqa: F811
):
    org, _bob, sla = _world(code="mttr", name="Mean time to repair", unit="hours",
                           direction="lower", target="24", minimum="25")  # fmt: skip
    flat = ["15.2", "15.0", "15.4", "14.9", "15.3", "15.1", "14.8", "15.6", "15.3"]
    _read(org, sla, [*flat, "17.0", "19.4", "21.7", "23.9"])  # green, creeping up
    worker()
    evaluate_escalations.delay(org.pk, [sla.pk])
    _wait_for(lambda: smtp.to("bob@northwind.example"), 60, "the forecast e-mail")
    for _ in range(2):
        sweep.delay()  # the hourly job, twice
    time.sleep(4)  # a second e-mail would have arrived by now
    (message,) = smtp.messages  # the owner, once; nobody else
    assert message["To"] == "bob@northwind.example"
    assert message["Subject"] == (
        "[slagov] Early warning, breach forecast: NW-FLT-001 Mean time to repair"
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    next_month = f"{periods.add_periods(_months_back(0), MONTHLY, 1):%b %Y}"
    assert f"Mean time to repair is forecast to turn red in {next_month}" in text
    assert "Forecast (expected value, 80 % band):" in text
    assert "23.9 h  Green" in text
    assert "minimum 25 h" in text
    with scopes_disabled():
        (episode,) = ForecastEpisode.objects.filter(service_level=sla)
        assert episode.cleared_at is None
        assert Escalation.objects.get(service_level=sla).level == 0


def test_a_quiet_period_holds_through_the_sweep_and_worse_reopens_with_the_new_steps_mail(
    worker,  # noqa: F811
    smtp,  # noqa: F811
):
    org, bob, sla = _world(code="avail", name="Service availability", unit="percent",
                           direction="higher", target="99.9", minimum="99.5")  # fmt: skip
    steady = ["99.95", "99.96", "99.94", "99.95", "99.97", "99.95", "99.94", "99.96"]
    _read(org, sla, [*steady, "99.7", "99.72"])  # two yellow months, not heading for red
    worker()
    evaluate_escalations.delay(org.pk, [sla.pk])
    _wait_for(lambda: smtp.count() >= 2, 60, "the level 1 e-mails")
    time.sleep(2)
    assert sorted(m["To"] for m in smtp.messages) == [
        "bob@northwind.example", "ops@fleetfix.example",
    ]  # fmt: skip
    with scopes_disabled():
        escalation = Escalation.objects.get(service_level=sla)
        membership = Membership.objects.get(organization=org, user=bob)
        services.escalation_acknowledge(escalation=escalation, actor=bob)
        services.escalation_resolve(
            escalation=escalation, actor=bob, note="Known, fix planned",
            quiet_until=timezone.localdate() + timedelta(days=60),
            tenant=Tenant(organization=org, membership=membership),
        )  # fmt: skip
    for _ in range(3):
        sweep.delay()
    time.sleep(5)
    assert smtp.count() == 2  # the quiet period holds: nobody is told again
    with scopes_disabled():
        escalation.refresh_from_db()
        assert escalation.state == "resolved"
        # Now worse than accepted: last month turns out red (a corrected value).
        _months = _months_back(0)
        from metrics.models import Reading

        Reading.objects.filter(service_level=sla, period_start=_months).update(
            value=Decimal("99.1")
        )
    engine.recompute(organization_id=org.pk, service_level_ids=[sla.pk])
    evaluate_escalations.delay(org.pk, [sla.pk])
    _wait_for(lambda: smtp.count() >= 4, 60, "the reopened escalation's e-mails")
    time.sleep(2)
    new = smtp.messages[2:]
    assert sorted(m["To"] for m in new) == ["bob@northwind.example", "lena@northwind.example"]
    for message in new:
        assert message["Subject"] == "[slagov] Reopened at level 2: NW-FLT-001 Service availability"
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert "Worse than the level 1 accepted with the quiet period" in text
        assert "Due by" not in text  # level 2 has no meeting; never level 1's deadline
    with scopes_disabled():
        escalation.refresh_from_db()
        assert (escalation.state, escalation.level, escalation.acknowledged_by) == (
            "open", 2, None,
        )  # fmt: skip


def test_an_sla_added_to_a_running_contract_sends_nothing(worker, smtp):  # noqa: F811
    from contracts import services as contract_services
    from escalations.tasks import send_data_reminders
    from metrics.models import PeriodStatus

    org, bob, sla = _world(code="avail", name="Service availability", unit="percent",
                           direction="higher", target="99.9", minimum="99.5")  # fmt: skip
    _read(org, sla, ["99.95"] * 20)  # the contract has run for 20 months, data on time
    worker()
    with scopes_disabled():
        added = contract_services.service_level_save(
            organization=org, actor=bob, contract=sla.contract,
            data={"code": "ftf", "name": "First-time fix rate", "unit": "percent",
                  "direction": "higher", "period": MONTHLY},
        )  # fmt: skip
        contract_services.terms_agree(
            organization=org, actor=bob, service_level=added,
            effective_from=sla.contract.start_date, target=Decimal("85"), minimum=Decimal("75"),
            tiers=[],
        )  # fmt: skip

    # The worker computes its statuses (on commit); then the hourly and daily jobs.
    def computed():
        with scopes_disabled():
            return PeriodStatus.objects.filter(service_level=added).count() >= 20

    _wait_for(computed, 60, "the new SLA's statuses")
    sweep.delay()
    send_data_reminders.delay()
    time.sleep(6)
    assert smtp.count() == 0  # no "data is late by 600 days" to anyone
    with scopes_disabled():
        assert not PeriodStatus.objects.filter(service_level=added, colour="late").exists()
        assert not Escalation.objects.filter(organization=org).exists()
