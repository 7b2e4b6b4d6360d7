"""
Governance health served from the cache (reviews.health_cache): after each kind
of write, bulk ones included, the next read equals a fresh computation
(reviews.health_data, the reference), the write moves the organisation's
stamp, another organisation's doesn't, and a page never shows a contract its
reader may not see.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract
from escalations import evaluate
from escalations.models import Escalation
from metrics.ingest import pipeline
from metrics.models import Reading
from reviews import health_cache
from reviews.health_data import SLIDING_MONTHS, health_histories
from reviews.models import ActionItem, Review
from slagov import change_marks
from slagov.members import member_deactivate
from slagov.models import ChangeMark, Membership
from tests.conftest import World
from tests.test_governance_health import NOW, _sliding, at

TODAY = date(2026, 12, 7)

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the change marks are kept by PostgreSQL triggers"
)


def _fresh(org) -> dict:
    """The reference: every contract's history worked out now, as the lists show it."""
    with scopes_disabled():
        contracts = Contract.objects.filter(organization=org).select_related(
            "organization", "owner", "vendor"
        )
        histories = health_histories(contracts, today=TODAY, months=SLIDING_MONTHS)
    return {
        pk: (h.contract.reference, h.contract.vendor.name, tuple(h.scores), h.current, h.sliding,
             h.change)
        for pk, h in histories.items()
    }  # fmt: skip


def _cached(org) -> dict:
    with scopes_disabled():
        table = health_cache.health_table(organization_id=org.pk, today=TODAY)
        summaries = table.of(list(table.rows))
    return {
        pk: (s.contract.reference, s.contract.vendor_name, s.scores, s.current, s.sliding,
             s.change)
        for pk, s in summaries.items()
    }  # fmt: skip


def _warm(org) -> tuple:
    """Read once (filling the cache) and return the stamp it was read under."""
    assert _cached(org) == _fresh(org)
    return change_marks.stamp(org.pk)


def _assert_current(org, before: tuple) -> None:
    assert change_marks.stamp(org.pk) != before, "the write did not move the stamp"
    assert _cached(org) == _fresh(org)


@pytest.fixture
def sliding(world: World) -> Contract:
    contract = _sliding(world)
    with time_machine.travel(NOW, tick=False):
        yield contract


def test_the_cached_summary_is_the_reference_history_cut_short(world: World, sliding):
    cached = _cached(world.org)
    assert cached == _fresh(world.org)
    _, _, scores, current, is_sliding, change = cached[sliding.pk]
    assert (scores, is_sliding, change) == ((80, 50, 45), True, -5)
    assert "3 action items overdue" in current.summary


@postgresql_only
def test_a_write_moves_the_stamp_and_the_next_read_recomputes(world: World, sliding):
    before = _warm(world.org)
    with scopes_disabled():
        ActionItem.objects.filter(contract=sliding, due_date=date(2026, 12, 1)).update(
            state=ActionItem.State.DONE, closed_at=at(2026, 12, 2)
        )
    _assert_current(world.org, before)
    assert _cached(world.org)[sliding.pk][2] == (80, 50, 50)


@postgresql_only
def test_an_upload_through_the_ingest_path_moves_the_stamp(world: World, sliding):
    before = _warm(world.org)
    submission = pipeline.submission_receive(
        organization=world.org, actor=world.vic, vendor=world.mine.vendor, enqueue=False,
        data=f"contract,sla,period,value\n{sliding.reference},avail,2026-11,99.9\n".encode(),
        filename="november.csv",
    )  # fmt: skip
    submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    assert submission.state == "ready", submission.state
    outcome = pipeline.submission_confirm(
        organization=world.org, actor=world.vic, submission=submission
    )
    assert outcome.ok, outcome.message
    with scopes_disabled():
        assert Reading.objects.filter(service_level__contract=sliding).count() == 2
    _assert_current(world.org, before)


@postgresql_only
def test_the_missed_due_sweep_moves_the_stamp(world: World, sliding):
    with scopes_disabled():
        Escalation.objects.filter(pk=world.mine.escalation.pk).update(
            opened_at=at(2026, 11, 1), due_by=at(2026, 11, 20)
        )
    before = _warm(world.org)
    report = evaluate.sweep_missed_due(now=NOW)
    assert report.done >= 1
    _assert_current(world.org, before)


@postgresql_only
def test_raw_sql_moves_the_stamp(world: World, sliding):
    before = _warm(world.org)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_review SET held_at = %s, state = 'held' WHERE contract_id = %s "
            "RETURNING id",
            [at(2026, 12, 1), sliding.pk],
        )
        assert cursor.fetchall()
    _assert_current(world.org, before)
    assert _cached(world.org)[sliding.pk][2][-1] > 45  # the review held counts today


@postgresql_only
def test_a_review_held_and_a_deactivated_owner_move_the_stamp(world: World, sliding):
    before = _warm(world.org)
    with scopes_disabled():
        Review.objects.filter(contract=sliding).update(held_at=at(2026, 12, 3))
    _assert_current(world.org, before)
    before = _warm(world.org)
    alice = Membership.objects.get(user=world.alice, organization=world.org)
    bob = Membership.objects.get(user=world.bob, organization=world.org)
    member_deactivate(organization=world.org, actor=alice, membership=bob)
    _assert_current(world.org, before)
    current = _cached(world.org)[sliding.pk][3]
    assert "The owner, Bob, is no longer an active member." in current.summary


@postgresql_only
def test_a_renamed_owner_moves_the_stamp_and_a_sign_in_does_not(world: World, sliding):
    before = _warm(world.org)
    get_user_model().objects.filter(pk=world.bob.pk).update(last_login=NOW)
    assert change_marks.stamp(world.org.pk) == before
    get_user_model().objects.filter(pk=world.bob.pk).update(first_name="Robert")
    _assert_current(world.org, before)


@postgresql_only
def test_one_tenants_write_leaves_the_other_tenants_stamp(world: World, sliding):
    _warm(world.org)
    other = _warm(world.other_org)
    with scopes_disabled():
        ActionItem.objects.filter(contract=sliding).update(state=ActionItem.State.CANCELLED)
    assert change_marks.stamp(world.other_org.pk) == other
    assert set(_cached(world.other_org)) == {world.foreign.contract.pk}
    assert set(_cached(world.org)) == {world.mine.contract.pk, world.theirs.contract.pk}


@postgresql_only
def test_pruning_keeps_each_organisations_newest_mark(world: World, sliding):
    with scopes_disabled():
        ChangeMark.objects.update(at=datetime(2026, 1, 1, tzinfo=UTC))
    newest = {
        org: ChangeMark.objects.filter(organization_id=org).order_by("-id").first().pk
        for org in (world.org.pk, world.other_org.pk)
    }
    assert change_marks.prune_change_marks(older_than=timedelta(hours=1)) > 0
    kept = dict(
        ChangeMark.objects.filter(organization_id__in=newest).values_list("organization_id", "id")
    )
    assert kept == newest
    assert _cached(world.org) == _fresh(world.org)


def test_a_vendor_user_sees_only_their_contracts_health(client, world: World, sliding):
    # The admin fills the cache with every contract of the organisation...
    client.force_login(world.alice)
    page = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    assert world.theirs.contract.reference in page
    # ...the other vendor's user is served from it and sees only its own contract.
    client.force_login(world.olly)
    page = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    assert sliding.reference not in page
    assert world.theirs.contract.reference in page
    client.force_login(world.vic)
    page = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    assert sliding.reference in page[page.index('id="sliding"') :]
    assert world.theirs.contract.reference not in page


def test_the_leadership_view_and_portfolio_follow_a_write(client, world: World, sliding):
    client.force_login(world.alice)
    portfolio = reverse("contracts:portfolio", args=[world.org.slug])
    assert 'id="sliding"' in client.get(portfolio).content.decode()
    with scopes_disabled():
        ActionItem.objects.filter(contract=sliding).update(
            state=ActionItem.State.CANCELLED, closed_at=at(2026, 10, 1)
        )
    assert 'id="sliding"' not in client.get(portfolio).content.decode()
    client.force_login(world.lena)
    text = client.get(reverse("escalations:leadership", args=[world.org.slug])).content.decode()
    assert "No contract is sliding back." in text
