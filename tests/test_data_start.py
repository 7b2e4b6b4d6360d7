"""
Adding an SLA to a running contract is quiet: data is owed from the SLA's data
start, so the months before it are never late, open no data-late escalation
and send no e-mail. From the data start on, lateness works as it always did,
and readings backfilled before it are judged like any other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts import services
from contracts.models import ServiceLevel
from escalations import evaluate, notify
from escalations.data_reminders import reminders_send
from escalations.models import Escalation
from metrics.models import PeriodStatus, Reading
from metrics.services import reading_record, statuses_refresh_all
from slagov.models import Membership
from tests import factories
from tests.conftest import member

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def running():
    """A contract that started ten months ago, with its owner, leaders and vendor contacts."""
    org = factories.OrganizationFactory(slug="running")
    bob = member(org, "bob", Membership.Role.ACCOUNT_MANAGER)
    member(org, "lena", Membership.Role.LEADERSHIP)
    vendor = factories.VendorFactory(organization=org)
    member(org, "vic", Membership.Role.VENDOR, vendor=vendor)
    contact = factories.VendorContactFactory(
        organization=org, vendor=vendor, email="ops@vendor.example"
    )
    contract = factories.ContractFactory(
        organization=org, vendor=vendor, owner=bob, reference="RUN-1",
        start_date=date(2026, 1, 1), end_date=date(2028, 12, 31),
    )  # fmt: skip
    with scopes_disabled():
        contract.vendor_contacts.add(contact, through_defaults={"organization": org})
    return SimpleNamespace(org=org, bob=bob, vendor=vendor, contract=contract)


def _add_sla(running, code: str = "avail", period: str = "monthly") -> ServiceLevel:
    """As the SLA form does: the SLA, then its terms (which recompute its statuses)."""
    with scopes_disabled():
        sla = services.service_level_save(
            organization=running.org, actor=running.bob, contract=running.contract,
            data={"code": code, "name": code, "unit": "percent", "direction": "higher",
                  "period": period},
        )  # fmt: skip
        services.terms_agree(
            organization=running.org, actor=running.bob, service_level=sla,
            effective_from=running.contract.start_date, target=Decimal("99.9"),
            minimum=Decimal("99.5"), tiers=[(Decimal("99.5"), Decimal("10"))],
        )  # fmt: skip
    return sla


def _jobs(running, day: datetime) -> None:
    """The scheduled jobs of `day`: status refresh, escalation rules and e-mails, reminders."""
    with time_machine.travel(day, tick=False):
        statuses_refresh_all(since_months=None)
        with scopes_disabled():
            ids = list(
                ServiceLevel.objects.filter(organization=running.org).values_list("pk", flat=True)
            )
        evaluate.evaluate(organization_id=running.org.pk, service_level_ids=ids)
        reminders_send()
        notify.send_pending()


def _colours(sla: ServiceLevel) -> dict[date, str]:
    with scopes_disabled():
        return dict(
            PeriodStatus.objects.filter(service_level=sla).values_list("period_start", "colour")
        )


def _escalations(running) -> list[Escalation]:
    with scopes_disabled():
        return list(Escalation.objects.filter(organization=running.org).order_by("pk"))


def test_adding_an_sla_to_a_running_contract_is_quiet(
    client, running, django_capture_on_commit_callbacks
):
    client.force_login(running.bob)
    url = reverse("contracts:sla_create", args=[running.org.slug, running.contract.pk])
    with time_machine.travel(NOW, tick=False):
        for code, period in (("avail", "monthly"), ("backlog", "weekly")):
            with django_capture_on_commit_callbacks(execute=True):  # statuses, escalation rules
                response = client.post(url, {
                    "code": code, "name": code, "kind": "sla", "unit": "percent",
                    "direction": "higher", "period": period, "weight": "1", "is_active": "on",
                    "data_start": "", "effective_from": "2026-01-01", "target": "99.9",
                    "minimum": "99.5", "improvement": "none",
                    "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0",
                })  # fmt: skip
            assert response.status_code == 302, response.context["form"].errors
    _jobs(running, NOW)
    with scopes_disabled():
        avail, backlog = (ServiceLevel.objects.get(code=code) for code in ("avail", "backlog"))
    assert (avail.data_start, backlog.data_start) == (date(2026, 11, 1), date(2026, 11, 23))
    # Every past period is there, none of them late: owed from November / 2026-W48 only.
    assert set(_colours(avail).values()) == {"no_data"}
    assert len(_colours(avail)) == 10  # January to October
    assert set(_colours(backlog).values()) == {"no_data"}
    assert len(_colours(backlog)) == 47  # from the week of 1 January to 2026-W47
    assert _escalations(running) == []
    assert mail.outbox == []  # no late notice, no "due soon" for 2026-W47 (due 27 November)


def test_periods_from_the_data_start_turn_late_and_open_a_data_escalation_as_before(running):
    with time_machine.travel(NOW, tick=False):
        sla = _add_sla(running)
    assert sla.data_start == date(2026, 11, 1)
    _jobs(running, datetime(2026, 12, 6, 9, tzinfo=UTC))  # November was due 5 December
    late = [start for start, colour in _colours(sla).items() if colour == "late"]
    assert late == [date(2026, 11, 1)]
    (notice,) = {m.subject: m for m in mail.outbox}.values()  # one e-mail per recipient
    assert notice.subject == "[slagov] Data for RUN-1 Nov 2026 is late (due 5 Dec)"
    assert "2026-10" not in notice.body
    assert _escalations(running) == []  # late by one day
    mail.outbox.clear()
    _jobs(running, datetime(2026, 12, 12, 9, tzinfo=UTC))
    (escalation,) = _escalations(running)
    assert (escalation.kind, escalation.level) == ("data", 1)
    assert escalation.reason == "avail: the data is late by 7 days"
    assert sorted(m.to[0] for m in mail.outbox) == [  # the owner, the vendor's contact and user
        "bob@example.com", "ops@vendor.example", "vic@example.com",
    ]  # fmt: skip


def test_a_weekly_sla_owes_the_week_it_was_added_in_and_no_earlier_week(running):
    with time_machine.travel(NOW, tick=False):
        sla = _add_sla(running, period="weekly")
    _jobs(running, datetime(2026, 12, 5, 9, tzinfo=UTC))  # 2026-W48 was due 4 December
    colours = _colours(sla)
    assert colours[date(2026, 11, 16)] == "no_data"  # due 27 November, before the data start
    assert colours[date(2026, 11, 23)] == "late"
    assert [c for c in colours.values() if c == "late"] == ["late"]


def test_readings_backfilled_before_the_data_start_are_judged_normally(
    running, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sla = _add_sla(running)
        with scopes_disabled(), django_capture_on_commit_callbacks(execute=True):
            for month, value in ((8, "99.95"), (9, "99.7"), (10, "99.2")):
                reading_record(
                    organization=running.org, actor=running.bob, service_level=sla,
                    period_start=date(2026, month, 1), value=Decimal(value),
                    source=Reading.Source.MANUAL,
                )  # fmt: skip
    colours = _colours(sla)
    assert [colours[date(2026, month, 1)] for month in (7, 8, 9, 10)] == [
        "no_data", "green", "yellow", "red",
    ]  # fmt: skip
    with scopes_disabled():
        october = PeriodStatus.objects.get(service_level=sla, period_start=date(2026, 10, 1))
    assert october.credit_amount == Decimal("2000.00")  # 10 % of 240,000 / 12
