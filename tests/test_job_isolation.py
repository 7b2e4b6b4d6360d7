"""
Scheduled jobs isolate tenants in time: one organisation's poisoned data (a
row written straight into the database, past every validation) is logged with
its organisation and counted, and every other organisation's statuses,
escalations and reminders are still written.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevelTerms
from escalations import evaluate, notify
from escalations.data_reminders import reminders_send
from escalations.models import Escalation
from metrics import engine
from metrics.models import PeriodStatus
from metrics.services import statuses_refresh_all
from slagov.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = date(2027, 1, 10)  # December 2026's data was due by 5 January
DECEMBER = date(2026, 12, 1)


@dataclass
class Tenant:
    org: object
    contract: object
    sla: object
    spare: object  # a second, healthy SLA of the same contract


def tenant(slug: str) -> Tenant:
    org = factories.OrganizationFactory(slug=slug, name=slug.title())
    owner = factories.UserFactory(username=f"owner-{slug}")
    factories.MembershipFactory(organization=org, user=owner,
                                role=Membership.Role.ACCOUNT_MANAGER)  # fmt: skip
    vendor = factories.VendorFactory(organization=org)
    contact = factories.VendorContactFactory(organization=org, vendor=vendor,
                                             email=f"ops@{slug}.example")  # fmt: skip
    contract = factories.ContractFactory(
        organization=org, vendor=vendor, owner=owner,
        start_date=date(2025, 1, 1), end_date=date(2028, 12, 31),
    )  # fmt: skip
    with scopes_disabled():
        contract.vendor_contacts.add(contact, through_defaults={"organization": org})
    slas = []
    for code in ("avail", "uptime"):
        sla = factories.ServiceLevelFactory(organization=org, contract=contract, code=code)
        factories.TermsFactory(organization=org, service_level=sla)
        slas.append(sla)
    return Tenant(org, contract, *slas)


def december(t: Tenant, sla=None) -> str | None:
    with scopes_disabled():
        status = PeriodStatus.objects.filter(
            service_level=sla or t.sla, period_start=DECEMBER
        ).first()
    return status.colour if status else None


def poison_dates(t: Tenant) -> None:
    """What the old validation let through: year 9999 everywhere, after some history."""
    with scopes_disabled():
        for month in range(5, 12):
            factories.ReadingFactory(organization=t.org, service_level=t.sla,
                                     period_start=date(2026, month, 1),
                                     value=Decimal("99.95"))  # fmt: skip
        Contract.objects.filter(pk=t.contract.pk).update(end_date=date(9999, 12, 31))
        factories.ReadingFactory(organization=t.org, service_level=t.sla,
                                 period_start=date(9999, 12, 1), value=Decimal("99"))  # fmt: skip
        ServiceLevelTerms.objects.create(
            organization=t.org, service_level=t.sla, effective_from=date(9999, 12, 1),
            direction="higher", target=Decimal("99"), minimum=Decimal("98"),
        )  # fmt: skip
        PeriodStatus.objects.create(organization=t.org, service_level=t.sla,
                                    period_start=date(9999, 12, 1), colour="no_data",
                                    computed_at="2026-01-01T00:00Z")  # fmt: skip


def poison_thresholds(t: Tenant) -> None:
    """
    Terms whose target is not a number: PostgreSQL's numeric takes 'NaN' (and
    ranks it above every number, so the order check passes), no form or API
    can write it, and no threshold can be judged against it.
    """
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE contracts_servicelevelterms SET target = 'NaN' WHERE service_level_id = %s",
            [t.sla.pk],
        )


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.mark.usefixtures("today")
def test_hourly_refresh_writes_every_tenant_when_one_has_impossible_dates():
    poisoned, healthy = tenant("a-poisoned"), tenant("b-healthy")
    factories.ReadingFactory(organization=poisoned.org, service_level=poisoned.sla,
                             period_start=DECEMBER, value=Decimal("99"))  # fmt: skip
    poison_dates(poisoned)
    report = statuses_refresh_all()
    assert december(healthy) == "late"
    assert december(poisoned) == "red"
    assert december(poisoned, poisoned.spare) == "late"
    assert report.failed == 0
    with scopes_disabled():  # the row past the calendar is gone, the reading stays
        assert not PeriodStatus.objects.filter(period_start__year=9999).exists()


@pytest.mark.usefixtures("today")
def test_a_tenant_the_engine_cannot_process_is_logged_counted_and_skipped(caplog):
    poisoned, healthy = tenant("a-poisoned"), tenant("b-healthy")
    poison_thresholds(poisoned)
    with caplog.at_level(logging.ERROR, logger="slagov.jobs"):
        report = statuses_refresh_all()
    assert report.failed == 1
    assert report.failures == [f"a-poisoned (#{poisoned.org.pk}): status recompute of SLA "
                               f"{poisoned.sla.pk}"]  # fmt: skip
    assert any("a-poisoned" in r.getMessage() for r in caplog.records)
    # The other tenant, and the poisoned tenant's other SLA, are written.
    assert december(healthy) == "late"
    assert december(poisoned, poisoned.spare) == "late"
    assert december(poisoned) is None
    assert report.as_dict()["failed"] == 1


@pytest.mark.usefixtures("today")
def test_recompute_command_finishes_every_organisation_and_then_fails():
    poisoned, healthy = tenant("a-poisoned"), tenant("b-healthy")
    poison_thresholds(poisoned)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 failure"):
        call_command("recompute_statuses", stdout=out, stderr=err)
    assert "a-poisoned: 2 SLAs" in out.getvalue()
    assert "1 failed" in out.getvalue()
    assert "b-healthy: 2 SLAs" in out.getvalue()
    assert f"failed: a-poisoned (#{poisoned.org.pk})" in err.getvalue()
    assert december(healthy) == "late"


@pytest.mark.usefixtures("today")
def test_escalations_open_for_every_sla_when_one_contract_has_impossible_dates():
    poisoned, healthy = tenant("a-poisoned"), tenant("b-healthy")
    for t in (poisoned, healthy):
        factories.ReadingFactory(organization=t.org, service_level=t.sla, period_start=DECEMBER,
                                 value=Decimal("99"))  # fmt: skip
    poison_dates(poisoned)
    assert statuses_refresh_all().failed == 0
    for t in (poisoned, healthy):
        counts = evaluate.evaluate(organization_id=t.org.pk,
                                   service_level_ids=[t.sla.pk, t.spare.pk])  # fmt: skip
        assert counts["failed"] == 0
        with scopes_disabled():
            assert Escalation.objects.filter(service_level=t.sla).count() == 1


@pytest.mark.usefixtures("today")
def test_reminders_go_out_for_other_tenants_when_one_has_a_period_past_the_calendar():
    poisoned, healthy = tenant("a-poisoned"), tenant("b-healthy")
    for t in (poisoned, healthy):
        engine.recompute(organization_id=t.org.pk, service_level_ids=[t.sla.pk, t.spare.pk])
    poison_dates(poisoned)  # after the engine ran: the 9999 status row stays
    report = reminders_send()
    assert report.failed == 0
    assert report.done == 2  # one late notice per contract
    notify.send_pending()
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["ops@a-poisoned.example", "ops@b-healthy.example"]
