"""
The outcomes selector (`reviews.outcomes_data`) on a built world: the figures
the definitions give, per organisation, contract and vendor, another tenant's
rows never counted, in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django_scopes import scope, scopes_disabled

from escalations.models import Escalation, EscalationEvent, ForecastEpisode
from metrics import engine
from reviews.models import ActionItem, VendorWarning
from reviews.models import Side as Party
from reviews.outcomes_data import outcomes_by_contract, outcomes_by_quarter, outcomes_by_vendor
from slagov.tenancy import tenant_scope
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db
TODAY = date(2026, 5, 20)  # 2026 Q2
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def read(side, month: date, value: str, arrived: datetime, sla=None) -> None:
    factories.ReadingFactory(
        organization=side.contract.organization, service_level=sla or side.sla,
        period_start=month, value=Decimal(value), submitted_at=arrived,
    )  # fmt: skip


def escalation(sla, *, opened, acknowledged=None, resolved=None, red=False, level=1, **kw):
    """An escalation with its timeline: opened, acknowledged, resolved (at level `level`)."""
    with scopes_disabled():
        row = Escalation.objects.create(
            organization_id=sla.organization_id, contract_id=sla.contract_id, service_level=sla,
            kind=Escalation.Kind.PERFORMANCE, level=level, reason="test", opened_at=opened,
            state="resolved" if resolved else "open", resolved_at=resolved, reached_red=red,
            acknowledged_at=acknowledged, **kw,
        )  # fmt: skip
        for kind, moment in (("opened", opened), ("acknowledged", acknowledged),
                             ("resolved", resolved)):  # fmt: skip
            if moment:
                EscalationEvent.objects.create(
                    organization_id=sla.organization_id, escalation=row, kind=kind, at=moment,
                    level=level, message=kind,
                )  # fmt: skip
    return row


def episode(sla, *, started, cleared=None, escalation=None, breached=None):
    with scopes_disabled():
        return ForecastEpisode.objects.create(
            organization_id=sla.organization_id, contract_id=sla.contract_id, service_level=sla,
            escalation=escalation, started_at=started, period=started.date().replace(day=1),
            horizon=2, cleared_at=cleared, breached_period=breached,
        )  # fmt: skip


def action(side, due: str, state="open", closed=None):
    with scopes_disabled():
        return ActionItem.objects.create(
            organization_id=side.contract.organization_id, contract=side.contract,
            title=f"Item due {due}", owner_side=Party.CUSTOMER, due_date=date.fromisoformat(due),
            state=state, closed_at=closed, created_at=at("2026-01-02"),
        )  # fmt: skip


@dataclass
class Built:
    world: World
    resp: object  # a second SLA of `mine`


def build(world: World) -> Built:
    """
    Mine (contract A): availability yellow in February, red in March (warned by a
    forecast episode), green in April; its escalation saw red. A second SLA's level-1
    escalation with its early warning ended before red in April; an early warning told
    on no escalation cleared in January. Theirs (contract B): an escalation resolved
    before red in January; red in April, unwarned. The other tenant has the same kinds
    of rows, which never count.
    """
    mine, theirs, foreign = world.mine, world.theirs, world.foreign
    with scopes_disabled():
        # The fixture's vendor warnings close before anything here: they warn of nothing.
        VendorWarning.objects.update(state="closed", closed_at=at("2026-02-20"))
    read(mine, date(2026, 2, 1), "99.7", at("2026-03-03", 8))
    read(mine, date(2026, 3, 1), "99.2", at("2026-04-03", 8))
    read(mine, date(2026, 4, 1), "99.95", at("2026-05-03", 8))
    read(theirs, date(2026, 4, 1), "99.1", at("2026-05-03", 8))
    read(foreign, date(2026, 4, 1), "99.1", at("2026-05-03", 8))
    resp = factories.ServiceLevelFactory(contract=mine.contract, organization=world.org,
                                         code="resp")  # fmt: skip
    factories.TermsFactory(service_level=resp, organization=world.org)
    for side, slas in ((mine, [mine.sla, resp]), (theirs, [theirs.sla]), (foreign, [foreign.sla])):
        engine.recompute(organization_id=side.contract.organization_id,
                         service_level_ids=[s.pk for s in slas], today=TODAY)  # fmt: skip

    red_one = escalation(mine.sla, opened=at("2026-02-05"), acknowledged=at("2026-02-05", 13),
                         resolved=at("2026-04-05"), red=True)  # fmt: skip
    episode(mine.sla, started=at("2026-03-04"), cleared=at("2026-04-06"), escalation=red_one,
            breached=date(2026, 3, 1))  # fmt: skip
    avoided = escalation(resp, opened=at("2026-04-10"), acknowledged=at("2026-04-10", 11),
                         resolved=at("2026-04-20"))  # fmt: skip
    episode(resp, started=at("2026-04-11"), cleared=at("2026-04-18"), escalation=avoided)
    episode(resp, started=at("2026-01-05"), cleared=at("2026-01-15"))
    escalation(theirs.sla, opened=at("2026-01-10"), acknowledged=at("2026-01-10", 15),
               resolved=at("2026-01-20"))  # fmt: skip
    escalation(foreign.sla, opened=at("2026-04-01"), acknowledged=at("2026-04-01", 10),
               resolved=at("2026-04-03"))  # fmt: skip
    episode(foreign.sla, started=at("2026-04-01"), cleared=at("2026-04-02"))

    action(mine, "2026-02-01")  # overdue
    action(mine, "2026-04-10", "done", at("2026-04-10", 16))  # on time
    action(mine, "2026-04-15", "done", at("2026-04-15", 22, 30))  # 16 April in Berlin
    action(mine, "2026-04-01", "cancelled", at("2026-03-20"))
    action(mine, "2026-06-01")  # not due yet
    action(foreign, "2026-04-10", "done", at("2026-04-09"))
    return Built(world, resp)


@pytest.fixture
def built(world: World, settings) -> Built:
    settings.TIME_ZONE = "Europe/Berlin"
    return build(world)


def figures(q) -> tuple:
    return (q.label, q.breaches_avoided, q.breaches, q.breaches_warned, q.median_ack_hours,
            q.median_resolve_hours, q.actions_due, q.actions_on_time, q.credits)  # fmt: skip


def test_the_organisations_outcomes_per_quarter(built: Built):
    org = built.world.org
    with time_machine.travel(NOW, tick=False), tenant_scope(org):
        result = outcomes_by_quarter(organization=org, today=TODAY, quarters=2)
    # Q1: the lone early warning and theirs' escalation avoided a breach; mine's March
    # breach was warned; acks of 4 h and 6 h; theirs resolved in 240 h; three items due
    # (mine's two, theirs' one), none on time; February's and March's credits (5 % of
    # 20,000 each). Q2: the second SLA's escalation with its warning (once); theirs' April
    # breach, unwarned; a 2 h ack; resolutions of 1,416 h and 240 h; one item of two on
    # time; theirs' April credit.
    assert [figures(q) for q in result] == [
        ("2026 Q1", 2, 1, 1, 5.0, 240.0, 3, 0, {"EUR": Decimal("2000.00")}),
        ("2026 Q2", 1, 1, 0, 2.0, 828.0, 2, 1, {"EUR": Decimal("1000.00")}),
    ]


def test_per_contract_and_per_vendor_and_narrowed(built: Built):
    world = built.world
    org, mine, theirs = world.org, world.mine, world.theirs
    with time_machine.travel(NOW, tick=False), tenant_scope(org):
        by_contract = outcomes_by_contract(organization=org, today=TODAY, quarters=2)
        by_vendor = outcomes_by_vendor(organization=org, today=TODAY, quarters=2)
        theirs_only = outcomes_by_quarter(organization=org, today=TODAY, quarters=2,
                                          vendor_id=theirs.vendor.pk)  # fmt: skip
        foreign_ids = outcomes_by_quarter(organization=org, today=TODAY, quarters=2,
                                          contract_ids=[world.foreign.contract.pk])  # fmt: skip
    assert list(by_contract) == [mine.contract.pk, theirs.contract.pk]
    assert [figures(q) for q in by_contract[mine.contract.pk]] == [
        ("2026 Q1", 1, 1, 1, 4.0, None, 2, 0, {"EUR": Decimal("2000.00")}),
        ("2026 Q2", 1, 0, 0, 2.0, 828.0, 2, 1, {}),
    ]
    assert [figures(q) for q in by_contract[theirs.contract.pk]] == [
        ("2026 Q1", 1, 0, 0, 6.0, 240.0, 1, 0, {}),
        ("2026 Q2", 0, 1, 0, None, None, 0, 0, {"EUR": Decimal("1000.00")}),
    ]
    assert by_vendor == {
        mine.vendor.pk: by_contract[mine.contract.pk],
        theirs.vendor.pk: by_contract[theirs.contract.pk],
    }
    assert theirs_only == by_contract[theirs.contract.pk]
    assert [figures(q)[1:] for q in foreign_ids] == [(0, 0, 0, None, None, 0, 0, {})] * 2


def test_a_vendor_users_scope_counts_only_their_vendor(built: Built):
    world = built.world
    vendor_scope = scope(organization=world.org.pk, vendor=world.theirs.vendor.pk)
    with time_machine.travel(NOW, tick=False), vendor_scope:
        seen = outcomes_by_quarter(organization=world.org, today=TODAY, quarters=2)
    with time_machine.travel(NOW, tick=False), tenant_scope(world.org):
        theirs = outcomes_by_quarter(organization=world.org, today=TODAY, quarters=2,
                                     vendor_id=world.theirs.vendor.pk)  # fmt: skip
    assert seen == theirs
    assert seen[1].breaches == 1


@pytest.mark.parametrize("extra", [0, 4])
def test_the_selector_takes_nine_queries_whatever_the_portfolio(
    built: Built, extra, django_assert_num_queries
):
    world = built.world
    for i in range(extra):
        contract = factories.ContractFactory(organization=world.org, vendor=world.mine.vendor)
        sla = factories.ServiceLevelFactory(contract=contract, organization=world.org)
        factories.TermsFactory(service_level=sla, organization=world.org)
        read(world.mine, date(2026, 3, 1), "99.0", at("2026-04-02"), sla=sla)
        engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk], today=TODAY)
        escalation(sla, opened=at("2026-04-01"), acknowledged=at("2026-04-01", 12),
                   resolved=at("2026-04-09", 9 + i))  # fmt: skip
    # 1 contracts, 2 their credits, 3 escalations that ended, 4 their early warnings,
    # 5 timelines answered, 6 periods of SLAs with a red one, 7 their early warnings,
    # 8 their vendor warnings, 9 action items due
    with (
        time_machine.travel(NOW, tick=False),
        tenant_scope(world.org),
        django_assert_num_queries(9),
    ):
        result = outcomes_by_quarter(organization=world.org, today=TODAY, quarters=2)
    assert result[0].breaches == 1 + extra


def test_bad_arguments_are_refused_by_name(built: Built):
    org = built.world.org
    with tenant_scope(org), pytest.raises(ValueError, match="quarters"):
        outcomes_by_quarter(organization=org, today=TODAY, quarters=0)
    with tenant_scope(org), pytest.raises(ValueError, match="quarters"):
        outcomes_by_quarter(organization=org, today=TODAY, quarters=10_000)
    for bad, message in ((["7", "x"], "contract_ids: whole numbers only, not 'x'"),
                         ([1.5], "contract_ids: whole numbers only, not 1.5"),
                         ([True], "contract_ids: whole numbers only, not True"),
                         ([0], "contract_ids: ids start at 1, not 0")):  # fmt: skip
        with tenant_scope(org), pytest.raises(ValueError, match=r"^contract_ids: ") as refused:
            outcomes_by_quarter(organization=org, today=TODAY, contract_ids=bad)
        assert str(refused.value) == message
    with tenant_scope(org), pytest.raises(ValueError, match="vendor_id: ids start at 1"):
        outcomes_by_quarter(organization=org, today=TODAY, vendor_id=-3)
    with time_machine.travel(NOW, tick=False), tenant_scope(org):
        nothing = [
            outcomes_by_quarter(organization=org, today=TODAY, quarters=2, contract_ids=ids)
            for ids in ([], [10**30], [built.world.foreign.contract.pk])
        ]
        huge_vendor = outcomes_by_quarter(organization=org, today=TODAY, quarters=2,
                                          vendor_id=10**30)  # fmt: skip
    for result in [*nothing, huge_vendor]:
        assert [(q.breaches, q.breaches_avoided, q.actions_due) for q in result] == [(0, 0, 0)] * 2
