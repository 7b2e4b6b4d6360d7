"""
Governance health from the database: the facts gathered (reviews.health_data),
replayed by month, shown on the contract page and the portfolio, the relevance
check at a review, and the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract
from escalations.models import Escalation
from metrics.models import Reading, ReadingRevision
from reviews import health
from reviews.health_data import health_histories, sliding_back
from reviews.models import ActionItem, RelevanceCheck, Review, Side
from slagov.models import Membership
from tests import factories
from tests.conftest import World, token_client

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(y, m, d) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=UTC)


def _contract(world: World) -> Contract:
    with scopes_disabled():
        contract = Contract.objects.select_related("organization", "owner").get(
            pk=world.mine.contract.pk
        )
        contract.owner = world.bob
        contract.save(update_fields=["owner"])
        # The world's fixtures: a review held 10 Feb, an action due 1 Mar, a warning.
        Review.objects.filter(contract=contract).update(
            held_at=at(2026, 11, 20), scheduled_at=at(2026, 11, 20)
        )
        ActionItem.objects.filter(contract=contract).update(
            state=ActionItem.State.DONE, closed_at=at(2026, 2, 20)
        )
        contract.warnings.update(acknowledged_at=at(2026, 2, 11), state="acknowledged")
        Escalation.objects.filter(contract=contract).update(due_by=None)
    return contract


def _plan_next(contract, planned=None, day=None):
    planned, day = planned or at(2026, 11, 20), day or at(2026, 12, 18)
    with scopes_disabled():
        review = Review.objects.create(
            organization_id=contract.organization_id, contract=contract, scheduled_at=day
        )
        Review.objects.filter(pk=review.pk).update(created_at=planned)  # auto_now_add
    return review


def _check_all(contract, review, when):
    with scopes_disabled():
        for sla in contract.service_levels.filter(is_active=True):
            RelevanceCheck.objects.create(
                organization_id=contract.organization_id, review=review, service_level=sla,
                still_right=True, checked_at=when,
            )  # fmt: skip


def _history(contract):
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        contract.refresh_from_db()
        return health_histories([contract], today=date(2026, 12, 7))[contract.pk]


def test_the_database_facts_give_the_rules_exact_verdict(world: World):
    contract = _contract(world)
    with scopes_disabled():
        review = Review.objects.filter(contract=contract).first()
    _check_all(contract, review, at(2026, 11, 20))
    _plan_next(contract)
    history = _history(contract)
    # Data for Jan 2026 only: Sep, Oct and Nov 2026 are owed and missing (deadlines
    # 5 Oct, 5 Nov, 5 Dec fall in the last 92 days).
    assert [(f.rule, f.points) for f in history.current.findings] == [(health.Rule.LATE_DATA, 15)]
    assert history.current.findings[0].words == (
        "Data late for 3 periods in the last quarter (avail Sep 2026, avail Oct 2026, "
        "avail Nov 2026)."
    )
    assert history.current.score == 85


def test_a_correction_after_the_deadline_keeps_the_data_on_time(world: World):
    contract = _contract(world)
    sla = world.mine.sla
    with scopes_disabled():
        reading = Reading.objects.create(
            organization=world.org, service_level=sla, period_start=date(2026, 11, 1),
            value=Decimal("99.9"), source="manual", submitted_at=at(2026, 12, 6), revision=2,
        )  # fmt: skip
        ReadingRevision.objects.create(
            organization=world.org, reading=reading, revision=1, value=Decimal("99.1"),
            source="manual", submitted_at=at(2026, 12, 2), superseded_at=at(2026, 12, 6),
        )  # fmt: skip
    late = [f for f in _history(contract).current.findings if f.rule == health.Rule.LATE_DATA]
    words = late[0].words
    assert "avail Nov 2026" not in words  # first sent 2 Dec, due by 5 Dec
    assert "2 periods" in words


def test_an_owner_who_was_deactivated_costs_the_contract_fifteen(world: World):
    contract = _contract(world)
    before = _history(contract).current.score
    Membership.objects.filter(user=world.bob, organization=world.org).update(is_active=False)
    after = _history(contract).current
    assert before - after.score == 15
    assert "The owner, Bob, is no longer an active member." in after.summary


def _sliding(world: World) -> Contract:
    """
    Reviewed on 25 Sep with the next one planned for January; actions falling due
    on 15 Oct, 15 Nov and 1 Dec are left open.
    """
    contract = _contract(world)
    with scopes_disabled():
        Review.objects.filter(contract=contract).update(
            held_at=at(2026, 9, 25), scheduled_at=at(2026, 9, 25)
        )
        _plan_next(contract, planned=at(2026, 9, 25), day=at(2027, 1, 15))
        for due in (date(2026, 10, 15), date(2026, 11, 15), date(2026, 12, 1)):
            ActionItem.objects.create(
                organization=world.org, contract=contract, title=f"Due {due}", owner=world.bob,
                owner_side=Side.CUSTOMER, due_date=due, created_at=at(2026, 9, 25),
            )  # fmt: skip
    return contract


def test_history_replays_each_month_and_finds_a_contract_sliding_back(world: World):
    history = _history(_sliding(world))
    assert [m.as_of for m in history.months[-3:]] == [
        date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 7)
    ]  # fmt: skip
    # 31 Oct: 1 action overdue (-5), Jul-Sep data late (-15).
    # 30 Nov: the review is 66 days old (-25), 2 actions overdue (-10), data late (-15).
    # Today: 73 days (-25), 3 actions (-15), data late (-15).
    assert history.scores[-3:] == [80, 50, 45]
    assert history.sliding is True
    assert history.change == -5
    assert [(f.rule, f.points) for f in history.months[-2].findings] == [
        (health.Rule.REVIEW_OVERDUE, 25), (health.Rule.ACTIONS_OVERDUE, 10),
        (health.Rule.LATE_DATA, 15),
    ]  # fmt: skip


def test_sliding_back_lists_only_contracts_falling_two_months_running(world: World):
    contract = _sliding(world)
    with scopes_disabled():
        other = Contract.objects.select_related("organization", "owner").get(
            pk=world.theirs.contract.pk
        )
    with time_machine.travel(NOW, tick=False), scopes_disabled():
        histories = health_histories([contract, other], today=date(2026, 12, 7))
    assert histories[other.pk].sliding is False
    assert [h.contract.pk for h in sliding_back(histories)] == [contract.pk]


def test_contract_page_shows_the_score_its_reasons_and_its_months(client, world: World):
    contract = _contract(world)
    client.force_login(world.bob)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("contracts:contract", args=[world.org.slug, contract.pk]))
    text = page.content.decode()
    assert 'id="governance-health"' in text
    assert "Data late for 3 periods in the last quarter" in text
    assert text.count('<th scope="col">', text.index('id="health-history"')) >= 6


def test_portfolio_has_a_governance_column_and_the_sliding_list(client, world: World):
    contract = _sliding(world)
    client.force_login(world.alice)
    with time_machine.travel(NOW, tick=False):
        text = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    sliding = text[text.index('id="sliding"') :]
    assert contract.reference in sliding[: sliding.index("</table>")]
    assert world.theirs.contract.reference not in sliding[: sliding.index("</table>")]
    assert ">Governance</th>" in text


def test_the_sliding_lists_show_the_first_rows_and_count_the_rest(client, world, monkeypatch):
    """Thousands of contracts sliding back don't make a page of thousands of rows."""
    import escalations.views_leadership
    import slagov.pages

    contract = _sliding(world)
    monkeypatch.setattr(slagov.pages, "LIST_ROWS", 0)
    monkeypatch.setattr(escalations.views_leadership, "LIST_ROWS", 0)
    with time_machine.travel(NOW, tick=False):
        client.force_login(world.alice)
        text = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
        assert 'id="sliding"' not in text
        more = text[text.index('id="sliding-more"') :]
        assert "1 more contract sliding back" in more
        health = reverse("api:governance-health-list", args=[world.org.slug])
        assert f'href="{health}?format=csv"' in more
        client.force_login(world.lena)
        text = client.get(reverse("escalations:leadership", args=[world.org.slug])).content.decode()
        section = text[text.index('id="sliding-back"') :]
        section = section[: section.index("</section>")]
        assert contract.reference not in section
        assert "1 more contract sliding back" in section
        assert f'href="{health}?format=csv"' in section


# --- "Still the right measure?" at a review --------------------------------------------


def _relevance_url(world, review):
    return reverse("reviews:relevance", args=[world.org.slug, review.pk])


def _held_days_ago(review, days: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    held = timezone.now() - timedelta(days=days)
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(held_at=held, scheduled_at=held)


def test_both_sides_record_whether_each_sla_is_still_the_right_measure(client, world: World):
    _held_days_ago(world.mine.review, 2)
    review, sla = world.mine.review, world.mine.sla
    client.force_login(world.vic)  # the vendor's user
    answer = {f"sla-{sla.pk}": "no", f"note-{sla.pk}": "Measure per site"}
    response = client.post(_relevance_url(world, review), answer)
    assert response.status_code == 302
    with scopes_disabled():
        check = RelevanceCheck.objects.get(review=review, service_level=sla)
    assert (check.still_right, check.note, check.checked_by) == (
        False,
        "Measure per site",
        world.vic,
    )
    client.force_login(world.bob)  # answering again replaces the answer
    client.post(_relevance_url(world, review), {f"sla-{sla.pk}": "yes"})
    with scopes_disabled():
        assert RelevanceCheck.objects.filter(review=review).count() == 1
        assert RelevanceCheck.objects.get(review=review).still_right is True
    page = client.get(reverse("reviews:detail", args=[world.org.slug, review.pk]))
    assert 'id="relevance-form"' in page.content.decode()


def test_no_without_what_should_change_is_refused_naming_the_sla(client, world: World):
    _held_days_ago(world.mine.review, 2)
    review, sla = world.mine.review, world.mine.sla
    client.force_login(world.bob)
    response = client.post(_relevance_url(world, review), {f"sla-{sla.pk}": "no"})
    assert response.status_code == 400
    assert "avail: what should change?" in response.content.decode()
    empty = client.post(_relevance_url(world, review), {})
    assert empty.status_code == 400
    assert "Answer yes or no for at least one SLA." in empty.content.decode()
    with scopes_disabled():
        assert not RelevanceCheck.objects.exists()


def test_a_review_still_to_come_cannot_be_answered_yet(client, world: World):
    contract = _contract(world)
    future = _plan_next(contract, planned=at(2026, 12, 1), day=at(2027, 1, 12))
    client.force_login(world.bob)
    with time_machine.travel(NOW, tick=False):
        response = client.post(_relevance_url(world, future), {f"sla-{world.mine.sla.pk}": "yes"})
    assert response.status_code == 400
    assert "Answer at the review: it is on 12 Jan 2027." in response.content.decode()


def test_leadership_reads_the_answers_but_does_not_give_them(client, world: World):
    client.force_login(world.lena)
    response = client.post(_relevance_url(world, world.mine.review),
                           {f"sla-{world.mine.sla.pk}": "yes"})  # fmt: skip
    assert response.status_code == 403


def test_another_vendors_review_is_404(client, world: World):
    client.force_login(world.olly)
    response = client.post(_relevance_url(world, world.mine.review),
                           {f"sla-{world.mine.sla.pk}": "yes"})  # fmt: skip
    assert response.status_code == 404


def test_api_records_answers_and_refuses_another_contracts_sla(world: World):
    _held_days_ago(world.mine.review, 2)
    api = token_client(world.org, world.bob)
    url = reverse("api:relevance-check-list", args=[world.org.slug])
    ok = api.post(url, {"review": world.mine.review.pk, "answers": [
        {"service_level": world.mine.sla.pk, "still_right": True}]}, format="json")  # fmt: skip
    assert ok.status_code == 201, ok.content
    assert ok.json()[0]["still_right"] is True
    wrong = api.post(url, {"review": world.mine.review.pk, "answers": [
        {"service_level": world.theirs.sla.pk, "still_right": True}]}, format="json")  # fmt: skip
    assert wrong.status_code == 400
    assert wrong.json() == {f"sla-{world.theirs.sla.pk}": ["Not an active SLA of this contract."]}
    foreign = api.post(url, {"review": world.foreign.review.pk, "answers": [
        {"service_level": world.foreign.sla.pk, "still_right": True}]}, format="json")  # fmt: skip
    assert foreign.status_code == 404
    huge = api.post(url, {"review": 2**70, "answers": [
        {"service_level": 1, "still_right": True}]}, format="json")  # fmt: skip
    assert huge.status_code == 400


def test_api_lists_health_per_contract_scoped_to_the_vendor(
    world: World, django_assert_num_queries
):
    _contract(world)
    api = token_client(world.org, world.vic)
    url = reverse("api:governance-health-list", args=[world.org.slug])
    with time_machine.travel(NOW, tick=False):
        rows = api.get(url).json()["results"]
    assert [r["reference"] for r in rows] == [world.mine.contract.reference]
    assert (rows[0]["score"], rows[0]["band"]) == (75, "watch")
    assert [f["rule"] for f in rows[0]["findings"]] == ["no_next_review", "late_data"]
    assert len(rows[0]["history"]) == 6


@pytest.mark.parametrize("extra", [0, 5])
def test_api_health_list_queries_do_not_grow_with_contracts(
    world: World, extra, django_assert_num_queries
):
    with scopes_disabled():
        Contract.objects.filter(organization=world.org).update(owner=world.bob)
    for _ in range(extra):
        factories.ContractFactory(vendor=world.mine.vendor, organization=world.org, owner=world.bob)
    api = token_client(world.org, world.alice)
    url = reverse("api:governance-health-list", args=[world.org.slug])
    # 1 token, 2 membership, 3 the count for the page, 4 contracts, 5-11 the facts
    # (reviews, action items, escalations, warnings, SLAs, relevance, readings), 13 owners
    with django_assert_num_queries(13):
        assert api.get(url).status_code == 200


def test_leadership_view_lists_the_contract_sliding_back_with_its_reasons(client, world: World):
    contract = _sliding(world)
    client.force_login(world.lena)
    with time_machine.travel(NOW, tick=False):
        text = client.get(reverse("escalations:leadership", args=[world.org.slug])).content.decode()
    section = text[text.index('id="sliding-back"') :]
    section = section[: section.index("</section>")]
    assert contract.reference in section
    assert "80 → 50 → 45" in section
    assert "3 action items overdue" in section
    assert world.theirs.contract.reference not in section


def test_help_page_states_the_health_rules(client, world: World):
    client.force_login(world.vic)
    text = client.get(reverse("reviews:help_numbers", args=[world.org.slug])).content.decode()
    rules = text[text.index('id="health-rules"') :]
    assert rules.count("<tr>") == 9  # the header and the eight rules of reviews.health
    assert len(health.PENALTY) == 8


def test_governance_health_exports_from_the_portfolio_scoped_with_numbers_as_numbers(
    client, world: World
):
    import io

    from openpyxl import load_workbook

    _sliding(world)
    client.force_login(world.vic)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
        url = reverse("api:governance-health-list", args=[world.org.slug])
        assert f"{url}?format=xlsx" in page
        response = client.get(url, {"format": "xlsx"})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxml"), response.content[:300]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Contract", "Title", "Vendor", "Governance mode", "Owner",
                           "Governance health")  # fmt: skip
    assert [r[0] for r in rows[1:]] == [world.mine.contract.reference]  # the vendor's own
    assert rows[1][5] == 45
    assert sheet.cell(row=2, column=6).data_type == "n"
    assert rows[1][7:9] == (-5, True)  # change since last month, sliding back


def test_the_governance_export_takes_the_portfolios_filters(client, world: World):
    _contract(world)
    client.force_login(world.bob)
    url = reverse("api:governance-health-list", args=[world.org.slug])
    with time_machine.travel(NOW, tick=False):
        everything = client.get(url, {"format": "csv"}).content.decode("utf-8-sig")
        searched = client.get(url, {"format": "csv", "q": world.theirs.contract.reference})
        bad = client.get(url, {"format": "csv", "status": "purple"})
    assert world.mine.contract.reference in everything
    assert world.theirs.contract.reference in everything
    text = searched.content.decode("utf-8-sig")
    assert world.theirs.contract.reference in text
    assert world.mine.contract.reference not in text
    assert bad.status_code == 400


def test_answers_come_at_a_review_held_not_at_one_that_never_took_place(client, world: World):
    contract = _contract(world)
    missed = _plan_next(contract, planned=at(2026, 10, 1), day=at(2026, 11, 5))
    client.force_login(world.bob)
    answer = {f"sla-{world.mine.sla.pk}": "yes"}
    with time_machine.travel(NOW, tick=False):
        response = client.post(_relevance_url(world, missed), answer)
    assert response.status_code == 400
    assert "planned for 05 Nov 2026 and is not recorded as held" in response.content.decode()
    _held_days_ago(world.mine.review, 31)
    late = client.post(_relevance_url(world, world.mine.review), answer)
    assert late.status_code == 400
    assert "within 30 days after it" in late.content.decode()
    _held_days_ago(world.mine.review, 30)
    assert client.post(_relevance_url(world, world.mine.review), answer).status_code == 302


def test_health_dates_an_answer_by_its_meeting_and_ignores_reviews_never_held(world: World):
    contract = _contract(world)
    _plan_next(contract)
    with scopes_disabled():
        old = Review.objects.create(
            organization=world.org, contract=contract, scheduled_at=at(2026, 6, 1),
            state=Review.State.HELD, held_at=at(2026, 6, 1),
        )  # fmt: skip
        missed = Review.objects.create(
            organization=world.org, contract=contract, scheduled_at=at(2026, 11, 25),
            state=Review.State.CANCELLED,
        )  # fmt: skip
        contract.service_levels.update(created_at=at(2025, 1, 1))
    _check_all(contract, old, at(2026, 12, 6))  # answered yesterday, for a June meeting
    _check_all(contract, missed, at(2026, 12, 6))  # at a meeting that never took place
    rules = {f.rule for f in _history(contract).current.findings}
    assert health.Rule.RELEVANCE in rules


def test_relevance_api_refuses_a_repeated_sla_and_a_bad_review_filter(world: World):
    api = token_client(world.org, world.bob)
    url = reverse("api:relevance-check-list", args=[world.org.slug])
    sla = world.mine.sla.pk
    twice = api.post(url, {"review": world.mine.review.pk, "answers": [
        {"service_level": sla, "still_right": True},
        {"service_level": sla, "still_right": False, "note": "x"}]}, format="json")  # fmt: skip
    assert twice.status_code == 400
    assert twice.json() == {"answers": ["Each SLA at most once."]}
    for bad in (str(2**70), "abc", "٣"):
        response = api.get(url, {"review": bad})
        assert response.status_code == 400, bad
        assert "review" in response.json()
