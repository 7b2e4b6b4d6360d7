"""The demo data tells the seeds' stories, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from metrics.models import PeriodStatus, Reading, SlaHealth
from slagov.demo import seed
from slagov.models import Membership

TODAY = date(2026, 11, 25)


@pytest.fixture
def demo(db):
    seed(today=TODAY)


def _sla(reference: str, code: str) -> ServiceLevel:
    return ServiceLevel.objects.get(contract__reference=reference, code=code)


def _last(sla, n: int) -> list[PeriodStatus]:
    return list(PeriodStatus.objects.filter(service_level=sla).order_by("-period_start")[:n])[::-1]


@scopes_disabled()
def test_seed_is_idempotent(demo):
    counts = (Contract.objects.count(), Reading.objects.count(), PeriodStatus.objects.count())
    seed(today=TODAY)
    assert (
        Contract.objects.count(),
        Reading.objects.count(),
        PeriodStatus.objects.count(),
    ) == counts


@scopes_disabled()
def test_northwind_has_twelve_contracts_some_in_compliance_mode(demo):
    contracts = list(
        Contract.objects.filter(organization__slug="northwind").select_related("organization")
    )
    assert len(contracts) == 12
    assert len({c.vendor_id for c in contracts}) == 4
    modes = {c.reference: c.effective_mode for c in contracts}
    assert modes["NW-FLT-002"] == "compliance"  # commodity, under 50,000
    assert modes["NW-NET-003"] == "compliance"  # adversarial
    assert modes["NW-ITO-001"] == "proactive"
    for contract in contracts:
        assert 4 <= ServiceLevel.objects.filter(contract=contract).count() <= 6


@scopes_disabled()
def test_creeping_mttr_is_still_green_but_rising_three_periods(demo):
    statuses = _last(_sla("NW-FLT-001", "mttr"), 4)
    assert [s.colour for s in statuses[1:]] == ["green", "green", "green"]
    values = [s.value for s in statuses]
    assert values[0] < values[1] < values[2] < values[3]


@scopes_disabled()
def test_availability_dip_turns_red_with_credits(demo):
    sla = _sla("NW-NET-001", "avail")
    yellow, red = _last(sla, 2)
    assert (yellow.colour, red.colour) == ("yellow", "red")
    assert red.credit_percent == 10
    assert red.credit_amount > 0
    assert SlaHealth.objects.get(service_level=sla).colour == "red"


@scopes_disabled()
def test_backlog_surge_precedes_the_resolution_breach(demo):
    backlog = _last(_sla("NW-ITO-001", "backlog"), 6)
    assert backlog[-1].value > backlog[0].value
    assert backlog[-1].colour == "red"
    assert [s.colour for s in _last(_sla("NW-ITO-001", "p1-res"), 3)] == ["yellow", "yellow", "red"]


@scopes_disabled()
def test_one_vendor_login_serves_two_customers(demo):
    sam = get_user_model().objects.get(username="sam")
    orgs = set(Membership.objects.filter(user=sam).values_list("organization__slug", "role"))
    assert orgs == {("northwind", "vendor"), ("globex", "vendor")}
    roles = set(
        Membership.objects.filter(organization__slug="globex").values_list("role", flat=True)
    )
    assert roles == {"admin", "account_manager", "leadership", "vendor"}


@scopes_disabled()
def test_the_stories_escalate(demo):
    from escalations.models import Escalation

    def escalation(reference, code):
        return Escalation.objects.get(
            service_level__contract__reference=reference,
            service_level__code=code,
            state="open",
            kind="performance",
        )

    assert escalation("NW-NET-001", "avail").level == 2  # the dip reaches leadership
    mttr = escalation("NW-FLT-001", "mttr")  # still green: an early warning first
    assert mttr.level == 0
    assert "forecast to turn red" in mttr.reason


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("NW-FLT-001", "mttr"),  # the creeping mean time to repair (monthly)
        ("NW-ITO-001", "backlog"),  # the backlog surge (weekly)
    ],
)
@scopes_disabled()
def test_replaying_the_demo_history_warns_the_owner_by_email_before_the_breach(
    demo, reference, code
):
    """
    The story replayed as it happened: each period's value arrives two days after the
    period ends, the statuses and the rules run with the clock set to that day. The
    owner's forecast e-mail must come from a day whose data shows no red yet.
    """
    import time_machine
    from django.core import mail

    from contracts import periods
    from escalations import evaluate, notify
    from escalations.models import Escalation, ForecastEpisode
    from metrics import engine

    sla = _sla(reference, code)
    owner = sla.contract.owner
    history = list(Reading.objects.filter(service_level=sla).order_by("period_start"))
    minimum = PeriodStatus.objects.filter(service_level=sla).latest("period_start").minimum
    first_red = next(
        (r.period_start for r in history if (r.value > minimum)), None
    )  # both stories are lower-is-better
    Escalation.objects.filter(service_level=sla).delete()
    ForecastEpisode.objects.filter(service_level=sla).delete()
    Reading.objects.filter(service_level=sla).delete()
    PeriodStatus.objects.filter(service_level=sla).delete()
    SlaHealth.objects.filter(service_level=sla).delete()
    mail.outbox.clear()
    warned_with = None
    for reading in history:
        arrives = periods.period_end(reading.period_start, sla.period)
        now = datetime.combine(arrives, time(6), tzinfo=UTC) + timedelta(days=1)
        with time_machine.travel(now, tick=False):
            if first_red is not None and reading.period_start >= first_red and warned_with:
                break
            Reading.objects.create(
                organization=sla.organization, service_level=sla,
                period_start=reading.period_start, value=reading.value,
                source=Reading.Source.UPLOAD, submitted_at=now,
            )  # fmt: skip
            engine.recompute(organization_id=sla.organization_id, service_level_ids=[sla.pk])
            evaluate.evaluate(organization_id=sla.organization_id, service_level_ids=[sla.pk])
            notify.send_pending()
            warnings = [
                m for m in mail.outbox
                if m.to == [owner.email] and m.subject.startswith("[slagov] Early warning")
            ]  # fmt: skip
            if warnings and warned_with is None:
                warned_with = reading.period_start
                (message,) = warnings
                assert f"{reference} {sla.name}" in message.subject
                assert "is forecast to turn red in" in message.body
                assert "80 % band" in message.body
    assert warned_with is not None, "no forecast e-mail to the owner"
    if first_red is not None:
        assert warned_with < first_red  # told before the breach
    mail.outbox.clear()
