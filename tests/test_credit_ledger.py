"""
The credit ledger: in step with the engine (`credits_for`, capped), every
transition and every forbidden one, the claim notice to the vendor (once,
however often it is asked for), a correction after a claim, the claim window's
edge, and the summaries the leadership view and the contract page read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django_scopes import scopes_disabled

from escalations.models import Notification
from escalations.notify import send_pending
from metrics import ledger, ledger_rules
from metrics.ledger_services import (
    LedgerStateError,
    credit_apply,
    credit_claim,
    credit_waive,
)
from metrics.models import CreditEntry, CreditEntryEvent
from metrics.selectors import contract_credits, credits_for
from slagov import pipeline, work
from slagov.models import AuditEvent, PendingWork
from tests.conftest import World
from tests.ledger_world import (
    APR,
    CREDIT,
    FEB,
    JAN,
    MAR,
    NOW,
    TODAY,
    credited,
    entry,
    entry_in_state,
    reading,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _events(e: CreditEntry) -> list[tuple[str, Decimal | None, Decimal | None]]:
    with scopes_disabled():
        return [
            (ev.kind, ev.amount_before, ev.amount_after)
            for ev in CreditEntryEvent.objects.filter(entry_id=e.pk).order_by("at", "pk")
        ]


# --- In step with the engine -----------------------------------------------------------------


def test_sync_writes_one_assessed_entry_per_month_with_the_engines_credit(world: World):
    credited(world.mine, FEB, MAR)
    with scopes_disabled():
        rows = list(CreditEntry.objects.filter(contract=world.mine.contract).order_by("month"))
        months, _ = contract_credits(world.mine.contract)
    assert [(r.month, r.amount, r.engine_amount, r.state, r.currency) for r in rows] == [
        (FEB, CREDIT, CREDIT, "assessed", "EUR"),
        (MAR, CREDIT, CREDIT, "assessed", "EUR"),
    ]
    assert [(m.month, m.credited) for m in months] == [(r.month, r.amount) for r in rows]
    assert _events(rows[0]) == [("assessed", None, CREDIT)]


def test_sync_holds_the_capped_amount_not_the_sum_of_the_slas(world: World):
    with scopes_disabled():
        world.mine.contract.at_risk_percent = Decimal("3")  # cap: 600.00 of 20,000.00
        world.mine.contract.save()
        reading(world.mine, FEB, "99.8")
        ledger.ledger_sync(organization_id=world.org.pk)
        (month,) = credits_for([world.mine.contract])[world.mine.contract.pk][0]
    assert (month.assessed, month.cap, month.credited) == (
        CREDIT,
        Decimal("600.00"),
        Decimal("600.00"),
    )
    assert entry(world.mine, FEB).amount == Decimal("600.00")


def test_a_second_sync_changes_nothing(world: World):
    credited(world.mine, FEB)
    result = ledger.ledger_sync(organization_id=world.org.pk)
    assert result.changed == 0
    assert len(_events(entry(world.mine, FEB))) == 1


def test_a_sync_of_some_contracts_leaves_the_others_alone(world: World):
    reading(world.mine, FEB, "99.8")
    reading(world.theirs, FEB, "99.8")
    ledger.ledger_sync(organization_id=world.org.pk, contract_ids=[world.mine.contract.pk])
    with scopes_disabled():
        assert set(CreditEntry.objects.filter(month=FEB).values_list("contract_id", flat=True)) == {
            world.mine.contract.pk
        }
        # The other vendor's entry from before is left as it was, not removed.
        assert CreditEntry.objects.filter(pk=world.theirs.credit_entry.pk).exists()


def test_an_assessed_entry_follows_a_corrected_reading(world: World):
    credited(world.mine, FEB)
    with scopes_disabled():
        from tests import factories

        factories.CreditTierFactory(
            terms=world.mine.terms, organization=world.org, worse_than=Decimal("99.5"),
            percent=Decimal("10"),
        )  # fmt: skip
    reading(world.mine, FEB, "99.0")  # now 10 %: 2,000.00
    ledger.ledger_sync(organization_id=world.org.pk)
    found = entry(world.mine, FEB)
    assert (found.state, found.amount, found.engine_amount) == (
        "assessed", Decimal("2000.00"), Decimal("2000.00"),
    )  # fmt: skip
    assert _events(found)[-1] == ("reassessed", CREDIT, Decimal("2000.00"))


def test_an_assessed_entry_whose_credit_falls_to_nothing_is_deleted(world: World):
    credited(world.mine, FEB, MAR)
    reading(world.mine, FEB, "99.95")  # green after all
    result = ledger.ledger_sync(organization_id=world.org.pk)
    assert result.removed == 1
    with scopes_disabled():
        assert list(
            CreditEntry.objects.filter(organization=world.org).values_list("month", flat=True)
        ) == [MAR]
        assert not CreditEntryEvent.objects.filter(entry__month=FEB).exists()


def test_a_correction_after_a_claim_keeps_the_claimed_amount_and_records_the_difference(
    world: World,
):
    credited(world.mine, FEB)
    credit_claim(organization=world.org, actor=world.bob, entry=entry(world.mine, FEB))
    reading(world.mine, FEB, "99.95")  # the vendor's corrected figure: no credit any more
    assert ledger.ledger_sync(organization_id=world.org.pk).corrected == 1
    found = entry(world.mine, FEB)
    assert (found.state, found.amount, found.engine_amount) == ("claimed", CREDIT, Decimal(0))
    assert found.correction == -CREDIT
    assert _events(found)[-1] == ("corrected", CREDIT, Decimal("0.00"))
    # Said once: the next sync finds nothing new to say.
    assert ledger.ledger_sync(organization_id=world.org.pk).changed == 0
    # Back to the claimed figure: the difference is gone, and that is an event too.
    reading(world.mine, FEB, "99.8")
    ledger.ledger_sync(organization_id=world.org.pk)
    found = entry(world.mine, FEB)
    assert found.correction is None
    assert _events(found)[-1] == ("corrected", Decimal("0.00"), CREDIT)


def test_the_pipeline_syncs_the_ledger_after_a_recompute(
    world: World, django_capture_on_commit_callbacks
):
    from metrics.models import Reading
    from metrics.services import reading_record

    with scopes_disabled(), django_capture_on_commit_callbacks(execute=True):
        reading_record(
            organization=world.org, actor=world.bob, service_level=world.mine.sla,
            period_start=FEB, value=Decimal("99.8"), source=Reading.Source.MANUAL,
        )  # fmt: skip
    assert entry(world.mine, FEB).amount == CREDIT
    assert not PendingWork.objects.exists()


# --- Transitions ---------------------------------------------------------------------------


def test_claim_then_apply_on_an_invoice(world: World):
    credited(world.mine, FEB)
    e = entry(world.mine, FEB)
    assert credit_claim(organization=world.org, actor=world.bob, entry=e) is True
    assert credit_apply(organization=world.org, actor=world.alice, entry=e,
                        invoice_reference="  INV-2026-114 ") is True  # fmt: skip
    found = entry(world.mine, FEB)
    assert (found.state, found.invoice_reference, found.claimed_by, found.applied_by) == (
        "applied", "INV-2026-114", world.bob, world.alice,
    )  # fmt: skip
    assert [k for k, _, _ in _events(found)] == ["assessed", "claimed", "applied"]
    with scopes_disabled():
        assert list(
            AuditEvent.objects.filter(organization=world.org, object_type="creditentry")
            .order_by("pk").values_list("action", flat=True)
        ) == ["credit claimed", "credit applied"]  # fmt: skip


@pytest.mark.parametrize("state", ["assessed", "claimed"])
def test_an_open_credit_can_be_waived_with_a_reason(world: World, state):
    e = entry_in_state(world.mine, FEB, state, world.bob)
    assert credit_waive(organization=world.org, actor=world.bob, entry=e, reason="Goodwill")
    found = entry(world.mine, FEB)
    assert (found.state, found.waive_reason, found.waived_by) == ("waived", "Goodwill", world.bob)


ACTIONS = {
    "claim": lambda world, e: credit_claim(organization=world.org, actor=world.bob, entry=e),
    "apply": lambda world, e: credit_apply(
        organization=world.org, actor=world.bob, entry=e, invoice_reference="INV-9"
    ),
    "waive": lambda world, e: credit_waive(
        organization=world.org, actor=world.bob, entry=e, reason="Other reason"
    ),
}
TARGET = {"claim": "claimed", "apply": "applied", "waive": "waived"}
FORBIDDEN = [
    (state, action)
    for state in ledger_rules.TRANSITIONS
    for action, target in TARGET.items()
    if not ledger_rules.may_move(state, target) and state != target
]


def test_the_forbidden_moves_are_the_ones_the_docstring_names():
    # A repeat (claimed → claim) is a no-op, tested below; everything else here is refused.
    assert sorted(FORBIDDEN) == sorted([
        ("assessed", "apply"), ("applied", "claim"), ("applied", "waive"),
        ("waived", "claim"), ("waived", "apply"),
        ("expired", "claim"), ("expired", "apply"), ("expired", "waive"),
    ])  # fmt: skip


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
def test_a_forbidden_move_is_refused_and_changes_nothing(world: World, state, action):
    e = entry_in_state(world.mine, FEB, state, world.bob)
    before = (e.state, e.amount, e.invoice_reference, e.waive_reason)
    events = _events(e)
    with pytest.raises(LedgerStateError):
        ACTIONS[action](world, e)
    after = entry(world.mine, FEB)
    assert (after.state, after.amount, after.invoice_reference, after.waive_reason) == before
    assert _events(after) == events
    assert not PendingWork.objects.filter(kind=work.CREDIT_NOTICE).exists()


@pytest.mark.parametrize("action", ["claim", "apply", "waive"])
def test_repeating_a_move_is_a_no_op(world: World, action):
    start = {"claim": "assessed", "apply": "claimed", "waive": "assessed"}[action]
    e = entry_in_state(world.mine, FEB, start, world.bob)
    same = {"claim": ACTIONS["claim"], "apply": ACTIONS["apply"], "waive": ACTIONS["waive"]}
    assert same[action](world, e) is True
    events = _events(e)
    assert same[action](world, entry(world.mine, FEB)) is False
    assert _events(e) == events


def test_applying_again_on_another_invoice_is_refused(world: World):
    e = entry_in_state(world.mine, FEB, "applied", world.bob)  # on INV-1
    with pytest.raises(LedgerStateError, match="already applied on invoice INV-1"):
        ACTIONS["apply"](world, e)


@pytest.mark.parametrize(
    ("reference", "message"),
    [("", "Give the invoice reference"), ("   ", "Give the invoice reference"),
     ("X" * 101, "at most 100 characters"), ("INV\n2", "one line")],
)  # fmt: skip
def test_an_invoice_reference_is_required_and_short(world: World, reference, message):
    e = entry_in_state(world.mine, FEB, "claimed", world.bob)
    with pytest.raises(ValidationError) as raised:
        credit_apply(organization=world.org, actor=world.bob, entry=e, invoice_reference=reference)
    assert message in raised.value.message_dict["invoice_reference"][0]
    assert entry(world.mine, FEB).state == "claimed"


def test_an_invoice_reference_of_exactly_100_characters_is_taken(world: World):
    e = entry_in_state(world.mine, FEB, "claimed", world.bob)
    credit_apply(organization=world.org, actor=world.bob, entry=e, invoice_reference="X" * 100)
    assert entry(world.mine, FEB).invoice_reference == "X" * 100


def test_a_waiver_needs_a_reason(world: World):
    e = entry_in_state(world.mine, FEB, "assessed")
    with pytest.raises(ValidationError) as raised:
        credit_waive(organization=world.org, actor=world.bob, entry=e, reason="  ")
    assert "reason" in raised.value.message_dict
    assert entry(world.mine, FEB).state == "assessed"


@pytest.mark.parametrize("who", ["vic", "lena"])
def test_vendor_users_and_leadership_cannot_claim(world: World, who):
    e = entry_in_state(world.mine, FEB, "assessed")
    with pytest.raises(PermissionDenied):
        credit_claim(organization=world.org, actor=getattr(world, who), entry=e)
    assert entry(world.mine, FEB).state == "assessed"


def test_another_organisations_admin_cannot_claim(world: World):
    e = entry_in_state(world.mine, FEB, "assessed")
    with pytest.raises(PermissionDenied):
        credit_claim(organization=world.org, actor=world.charlie, entry=e)


# --- The claim notice ------------------------------------------------------------------------


def _notices() -> list[tuple[str, str]]:
    with scopes_disabled():
        return sorted(
            Notification.objects.filter(kind=Notification.Kind.CREDIT_NOTICE).values_list(
                "key", "email"
            )
        )


def test_a_claim_sends_the_notice_to_the_vendors_contacts_once(
    world: World, django_capture_on_commit_callbacks
):
    credited(world.mine, FEB)
    e = entry(world.mine, FEB)
    with django_capture_on_commit_callbacks(execute=True):
        credit_claim(organization=world.org, actor=world.bob, entry=e)
    with django_capture_on_commit_callbacks(execute=True):  # a double click
        credit_claim(organization=world.org, actor=world.bob, entry=entry(world.mine, FEB))
    send_pending()
    expected = sorted([world.mine.contact.email, world.vic.email])
    assert sorted(m.to[0] for m in mail.outbox) == expected
    message = mail.outbox[0]
    assert message.subject == f"[slagov] Service credit claim: {world.mine.contract.reference} " \
        "February 2026, 1,000.00 EUR"  # fmt: skip
    assert "1,000.00 EUR" in message.body
    assert "avail" in message.body
    assert _notices() == [(f"credit:{e.pk}", a) for a in expected]
    assert world.theirs.contact.email not in {m.to[0] for m in mail.outbox}


def test_the_notice_is_queued_even_when_the_worker_died_and_once_when_retried(world: World):
    credited(world.mine, FEB)
    e = entry(world.mine, FEB)
    credit_claim(organization=world.org, actor=world.bob, entry=e)  # the ask is never made
    (recorded,) = PendingWork.objects.filter(kind=work.CREDIT_NOTICE)
    assert recorded.arguments == {"entry_id": e.pk}
    assert _notices() == []
    assert work.run(recorded.pk) == "done"  # the sweeper's ask, after the lease
    pipeline.credit_notice(world.org.pk, entry_id=e.pk)  # a redelivered message
    assert len(_notices()) == 2
    send_pending()
    assert len(mail.outbox) == 2


# --- The claim window ----------------------------------------------------------------------


@pytest.mark.parametrize(("day", "expired"), [(date(2026, 5, 1), 0), (date(2026, 5, 2), 1)])
def test_an_unclaimed_credit_expires_the_day_after_its_window(world: World, day, expired):
    # January ends on the 31st; 90 days later is 1 May: claimable that day, expired the next.
    reading(world.mine, JAN, "99.8")
    for org in (world.org, world.other_org):  # the world's entries from before: in step
        ledger.ledger_sync(organization_id=org.pk)
    with time_machine.travel(datetime.combine(day, time(5, 45), tzinfo=UTC), tick=False):
        report = ledger.ledger_daily_all()  # the beat's job, on that day's clock
    assert (report.done, report.failed) == (expired, 0)
    found = entry(world.mine, JAN)
    assert found.state == ("expired" if expired else "assessed")
    assert (("expired", CREDIT, CREDIT) in _events(found)) is bool(expired)


def test_a_claim_after_the_window_is_refused_even_before_the_job_ran(world: World):
    reading(world.mine, date(2026, 1, 1), "99.8")
    ledger.ledger_sync(organization_id=world.org.pk)
    e = entry(world.mine, date(2026, 1, 1))
    with pytest.raises(LedgerStateError, match="closed on 1 May 2026"):
        credit_claim(organization=world.org, actor=world.bob, entry=e, today=date(2026, 5, 2))
    assert credit_claim(organization=world.org, actor=world.bob, entry=e, today=date(2026, 5, 1))


def test_the_claim_window_is_the_contracts(world: World):
    with scopes_disabled():
        world.mine.contract.credit_claim_days = 30
        world.mine.contract.save()
    reading(world.mine, date(2026, 1, 1), "99.8")
    ledger.ledger_sync(organization_id=world.org.pk)
    assert ledger.ledger_expire(organization_id=world.org.pk, today=date(2026, 3, 2)) == 0
    assert ledger.ledger_expire(organization_id=world.org.pk, today=date(2026, 3, 3)) == 1


def test_the_daily_job_goes_on_past_an_organisation_that_fails(world: World, monkeypatch):
    ledger.ledger_sync(organization_id=world.other_org.pk)  # the world's entry from before
    reading(world.mine, date(2026, 1, 1), "99.8")
    reading(world.foreign, date(2026, 1, 1), "99.8")
    real = ledger.ledger_sync.__wrapped__

    def sync(*, organization_id, **kwargs):
        if organization_id == world.org.pk:
            raise RuntimeError("a bad row")
        return real(organization_id=organization_id, **kwargs)

    monkeypatch.setattr(ledger, "ledger_sync", sync)
    report = ledger.ledger_daily_all(today=date(2026, 5, 2))
    assert (report.failed, report.done) == (1, 2)  # the other's entry created, then expired
    assert report.failures == [f"acme (#{world.org.pk}): credit ledger"]
    assert entry(world.foreign, date(2026, 1, 1)).state == "expired"


# --- What other pages read -------------------------------------------------------------------


def test_unclaimed_summary_buckets_by_age_with_totals_and_the_oldest(world: World):
    # On 10 May 2026: January ended 99 days ago, February 71, March 40, April 10.
    credited(world.mine, JAN, FEB, MAR, APR)
    credited(world.theirs, APR)
    entry_in_state(world.theirs, MAR, "claimed", world.bob)  # claimed: not unclaimed
    with scopes_disabled():
        summary = ledger.unclaimed_summary(organization_id=world.org.pk, today=TODAY)
    assert [(b.label, b.count, b.totals) for b in summary.buckets] == [
        ("0-30 days", 2, {"EUR": 2 * CREDIT}),
        ("31-60 days", 1, {"EUR": CREDIT}),
        ("61-90 days", 1, {"EUR": CREDIT}),
        ("over 90 days", 1, {"EUR": CREDIT}),
    ]
    assert (summary.count, summary.totals) == (5, {"EUR": 5 * CREDIT})
    assert (summary.oldest.month, summary.oldest_days) == (JAN, 99)
    # January's window closed on 1 May; February's closes on 29 May: 19 days left;
    # March's on 29 June, more than 30 days away.
    assert [(e.month, e.days_left) for e in summary.expiring] == [(FEB, 19)]


def test_unclaimed_summary_of_some_contracts(world: World):
    credited(world.mine, FEB)
    credited(world.theirs, FEB)
    with scopes_disabled():
        summary = ledger.unclaimed_summary(
            organization_id=world.org.pk, today=TODAY, contract_ids=[world.theirs.contract.pk]
        )
    assert summary.count == 1
    assert summary.oldest.contract_id == world.theirs.contract.pk


def test_headroom_is_the_cap_minus_the_credited_amount(world: World):
    with scopes_disabled():
        world.mine.contract.at_risk_percent = Decimal("7.5")  # cap 1,500.00
        world.mine.contract.save()
        reading(world.mine, FEB, "99.8")
        months, _ = contract_credits(world.mine.contract)
    rows = ledger.headroom_by_month(world.mine.contract, [*months, MAR])
    assert [(r.month, r.cap, r.credited, r.headroom) for r in rows] == [
        (FEB, Decimal("1500.00"), CREDIT, Decimal("500.00")),
        (MAR, Decimal("1500.00"), Decimal(0), Decimal("1500.00")),
    ]


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "0-30 days"), (30, "0-30 days"), (31, "31-60 days"), (60, "31-60 days"),
     (61, "61-90 days"), (90, "61-90 days"), (91, "over 90 days"), (4000, "over 90 days")],
)  # fmt: skip
def test_age_buckets_at_their_edges(days, bucket):
    assert ledger_rules.age_bucket(days) == bucket


@pytest.mark.parametrize(
    ("month", "days", "deadline"),
    [(date(2026, 1, 1), 90, date(2026, 5, 1)), (date(2024, 2, 1), 1, date(2024, 3, 1)),
     (date(2026, 12, 1), 90, date(2027, 3, 31)), (date(2026, 2, 1), 730, date(2028, 2, 28))],
)  # fmt: skip
def test_claim_deadlines(month, days, deadline):
    assert ledger_rules.claim_deadline(month, days) == deadline
    assert not ledger_rules.is_past_window(month, days, deadline)
    assert ledger_rules.is_past_window(month, days, deadline + timedelta(days=1))


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (730, True), (731, False)])
def test_the_claim_window_is_one_day_to_two_years(days, ok):
    from contracts.services import contract_numbers_validate

    if ok:
        contract_numbers_validate(credit_claim_days=days)
        return
    with pytest.raises(ValidationError) as raised:
        contract_numbers_validate(credit_claim_days=days)
    assert raised.value.message_dict["credit_claim_days"] == [
        "The credit claim window (days) must be a whole number from 1 to 730."
    ]


def test_the_contract_form_sets_the_claim_window_and_names_a_bad_one(client, world: World):
    from django.urls import reverse

    client.force_login(world.bob)
    url = reverse("contracts:contract_edit", args=[world.org.slug, world.mine.contract.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["vendor_contacts"] = []
    refused = client.post(url, {**data, "credit_claim_days": "0"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["credit_claim_days"] == [
        "The credit claim window (days) must be a whole number from 1 to 730."
    ]
    assert client.post(url, {**data, "credit_claim_days": "45"}).status_code == 302
    with scopes_disabled():
        world.mine.contract.refresh_from_db()
    assert world.mine.contract.credit_claim_days == 45
