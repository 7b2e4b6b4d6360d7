"""
Impossible and out-of-range dates: every date and period the product takes is
checked against one range rule (contracts.periods), with a field error that
says what is allowed; rows stored before the rules never make a page, the API
or the engine fail.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from contracts import periods, services
from contracts.models import Contract, ServiceLevelTerms
from metrics import engine
from metrics import services as metrics_services
from metrics.ingest import pipeline
from metrics.models import PeriodStatus, Reading, SlaHealth, Submission
from slagov.models import Membership
from slagov.services import api_token_create
from tests import factories
from tests.conftest import World
from tests.ingest_world import TODAY

MONTHLY, WEEKLY = periods.Period.MONTHLY, periods.Period.WEEKLY
# The world fixture's day: its contracts run 2025-01-01 to 2028-12-31.
WORLD_DAY = date(2026, 3, 15)


@pytest.fixture
def world_day():
    with time_machine.travel(WORLD_DAY, tick=False):
        yield


# ---------------------------------------------------------------------------
# parse_period: ValueError with a clear message, and nothing else, for any text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "says"),
    [
        ("9999-12", MONTHLY, "year must be from 2000 to 2999"),
        ("9999-12-31", MONTHLY, "year must be from 2000 to 2999"),
        ("9999-W52", WEEKLY, "year must be from 2000 to 2999"),
        ("9999-12-31", WEEKLY, "year must be from 2000 to 2999"),
        ("0001-01", MONTHLY, "year must be from 2000 to 2999"),
        ("0000-01", MONTHLY, "year must be from 2000 to 2999"),
        ("0000-01-01", MONTHLY, "is not a period"),
        ("10000-01", MONTHLY, "is not a period"),
        ("2026-13", MONTHLY, "no month 13"),
        ("2026-W54", WEEKLY, "no ISO week 54"),
        ("1999-12", MONTHLY, "year must be from 2000 to 2999"),
        ("2026-" + "9" * 500, MONTHLY, "is not a period"),
        ("9" * 5000, WEEKLY, "is not a period"),
        pytest.param(
            "\u0662\u0660\u0662\u0666-\u0661\u0660",
            MONTHLY,
            "is not a period",
            id="arabic_indic_digits",
        ),
        pytest.param(
            "\uff12\uff10\uff12\uff16-\uff11\uff10",
            MONTHLY,
            "is not a period",
            id="full_width_digits",
        ),
        pytest.param(
            "\u0662\u0660\u0662\u0666-W\u0661\u0660",
            WEEKLY,
            "is not a period",
            id="arabic_indic_week",
        ),
    ],
)
def test_parse_period_refuses_impossible_periods_with_a_clear_value_error(text, kind, says):
    with pytest.raises(ValueError, match=says):
        periods.parse_period(text, kind)


def test_parse_period_raises_only_value_error_for_random_text():
    rng = random.Random(8)
    alphabet = "0123456789-Ww :T.+٣²\x00\ud800 "
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        for kind in (MONTHLY, WEEKLY):
            try:
                start = periods.parse_period(text, kind)
            except ValueError:
                continue
            # Whatever parses is a period start whose arithmetic never leaves the calendar.
            assert periods.FIRST_YEAR - 1 <= start.year <= periods.LAST_YEAR
            periods.period_end(start, kind)


# ---------------------------------------------------------------------------
# The range rules themselves, at their boundaries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        (date(2000, 1, 1), date(2029, 12, 31), set()),
        (date(1999, 12, 31), date(2026, 12, 31), {"start_date"}),
        (date(2031, 3, 15), date(2032, 3, 14), set()),  # exactly five years ahead
        (date(2031, 3, 16), date(2032, 3, 15), {"start_date"}),
        (date(2026, 1, 1), date(2055, 12, 31), set()),  # exactly 30 years
        (date(2026, 1, 1), date(2056, 1, 1), {"end_date"}),
        (date(2028, 2, 29), date(2058, 2, 27), set()),
        (date(2028, 2, 29), date(2058, 2, 28), {"end_date"}),
        (date(2026, 1, 1), date(2026, 1, 1), {"end_date"}),
        (date(9999, 1, 1), date(9999, 12, 31), {"start_date"}),
        (date(1, 1, 1), date.max, {"start_date"}),
    ],
)
def test_contract_dates_rule_at_its_boundaries(start, end, fields):
    assert set(periods.contract_dates_problems(start, end, WORLD_DAY)) == fields


@pytest.mark.parametrize(
    ("start", "kind", "says"),
    [
        (date(2026, 2, 1), MONTHLY, None),
        (date(2026, 3, 1), MONTHLY, "has not ended yet (it ends 31 Mar 2026)"),
        (date(9999, 12, 1), MONTHLY, "has not ended yet."),
        (date(9999, 12, 27), WEEKLY, "has not ended yet."),
        (date(2026, 3, 2), WEEKLY, None),  # the week of 2 March ended on Sunday 8 March
        (date(2026, 3, 9), WEEKLY, "has not ended yet (it ends 15 Mar 2026)"),
        (date(2024, 12, 1), MONTHLY, "outside the contract term"),
        (date(2024, 12, 30), WEEKLY, None),  # the week that holds 1 January 2025
        (date(1, 1, 1), MONTHLY, "outside the contract term"),
    ],
)
def test_reading_period_rule(start, kind, says):
    problem = periods.period_problem(
        start, kind, contract_start=date(2025, 1, 1), contract_end=date(2028, 12, 31),
        today=WORLD_DAY,
    )  # fmt: skip
    if says is None:
        assert problem is None
    else:
        assert says in problem


# ---------------------------------------------------------------------------
# Uploads: an impossible period is a row error, never a 500
# ---------------------------------------------------------------------------


def _upload(w, body: str) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, enqueue=False,
        data=("contract,sla,period,value\n" + body).encode(), filename="readings.csv",
    )  # fmt: skip
    return pipeline.submission_validate(submission_id=submission.pk, today=TODAY)


def _errors(submission) -> list[tuple[int, str, str]]:
    with scopes_disabled():
        return [(e.row_number, e.column, e.message) for e in submission.errors.all()]


@pytest.mark.usefixtures("ingest_today")
@pytest.mark.parametrize(
    ("sla", "period", "says"),
    [
        ("avail", "9999-12", "year must be from 2000 to 2999"),
        ("avail", "9999-12-31", "year must be from 2000 to 2999"),
        ("backlog", "9999-W52", "year must be from 2000 to 2999"),
        ("avail", "0001-01", "year must be from 2000 to 2999"),
        ("avail", "2999-12", "has not ended yet"),
        ("backlog", "2999-W52", "has not ended yet"),
        ("avail", "2024-12", "outside the contract term"),
    ],
)
def test_upload_with_an_impossible_period_gets_a_row_error(w, sla, period, says):
    submission = _upload(w, f"CORP-1,{sla},{period},1\nCORP-1,avail,2026-10,99.95\n")
    assert submission.state == Submission.State.INVALID
    [(row, column, message)] = _errors(submission)
    assert (row, column) == (2, "period")
    assert says in message


@pytest.mark.usefixtures("ingest_today")
def test_api_batch_with_year_9999_is_refused_row_by_row(w):
    membership = Membership.objects.get(user=w.uploader, organization=w.org)
    _, key = api_token_create(organization=w.org, actor=w.uploader, membership=membership,
                              name="t")  # fmt: skip
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    rows = [{"contract": "CORP-1", "sla": "avail", "period": p, "value": 99}
            for p in ("9999-12", "9999-12-31", "0001-01")]  # fmt: skip
    response = api.post(
        reverse("api:submission-list", kwargs={"org_slug": w.org.slug}),
        {"rows": rows}, format="json",
    )  # fmt: skip
    assert response.status_code < 500
    body = response.json()
    assert body["state"] == "invalid"
    assert [e["column"] for e in body["errors"]] == ["period"] * 3


# ---------------------------------------------------------------------------
# Manual readings
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("9999-12", "year must be from 2000 to 2999"),
        ("0001-01", "year must be from 2000 to 2999"),
        ("2026-03", "has not ended yet"),
        ("2027-01", "has not ended yet"),
        ("2024-12", "outside the contract term"),
    ],
)
def test_manual_reading_for_an_impossible_period_is_a_field_error(client, world, period, says):
    sla = world.mine.sla
    client.force_login(world.bob)
    response = client.post(
        reverse("metrics:reading_create", args=[world.org.slug, sla.pk]),
        {"period": period, "value": "99.9"},
    )
    assert response.status_code == 200
    assert says in response.context["form"].errors["period"][0]
    with scopes_disabled():
        assert list(sla.readings.values_list("period_start", flat=True)) == [date(2026, 1, 1)]


@pytest.mark.usefixtures("world_day")
def test_manual_reading_for_a_closed_period_in_the_term_is_saved(client, world):
    sla = world.mine.sla
    client.force_login(world.bob)
    response = client.post(
        reverse("metrics:reading_create", args=[world.org.slug, sla.pk]),
        {"period": "2026-02", "value": "99.9"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert sla.readings.filter(period_start=date(2026, 2, 1)).exists()


@pytest.mark.usefixtures("world_day")
def test_reading_service_refuses_a_period_past_the_calendar(world):
    with scopes_disabled(), pytest.raises(ValidationError) as caught:
        metrics_services.reading_record(
            organization=world.org, actor=world.bob, service_level=world.mine.sla,
            period_start=date(9999, 12, 1), value=Decimal("99"), source=Reading.Source.MANUAL,
        )  # fmt: skip
    assert "has not ended yet" in caught.value.message_dict["period"][0]


# ---------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------


def _terms_post(effective_from: str) -> dict:
    return {
        "effective_from": effective_from, "target": "99.9", "minimum": "99.5",
        "improvement": "none", "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0",
    }  # fmt: skip


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize("effective_from", ["9999-12-01", "0001-01-01", "2024-12-31", "2029-01-01"])
def test_terms_effective_outside_the_contract_term_are_a_field_error(client, world, effective_from):
    sla = world.mine.sla
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:terms_create", args=[world.org.slug, sla.pk]),
        _terms_post(effective_from),
    )
    assert response.status_code == 200
    message = response.context["form"].errors["effective_from"][0]
    assert "inside the contract term: from 1 Jan 2025 to 31 Dec 2028" in message
    with scopes_disabled():
        assert ServiceLevelTerms.objects.filter(service_level=sla).count() == 1


@pytest.mark.usefixtures("world_day")
def test_new_sla_with_terms_before_the_contract_is_refused(client, world):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk]),
        {
            "code": "resp", "name": "Response", "kind": "sla", "unit": "hours",
            "direction": "lower", "period": "monthly", "weight": "1", "is_active": "on",
            **_terms_post("1999-01-01"), "target": "4", "minimum": "8",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "inside the contract term" in response.context["terms_form"].errors["effective_from"][0]


@pytest.mark.usefixtures("world_day")
def test_terms_service_refuses_an_effective_date_past_the_term(world):
    with scopes_disabled(), pytest.raises(ValidationError) as caught:
        services.terms_agree(
            organization=world.org, actor=world.bob, service_level=world.mine.sla,
            effective_from=date(9999, 12, 1), target=Decimal("99.9"), minimum=Decimal("99.5"),
        )  # fmt: skip
    assert "effective_from" in caught.value.message_dict


@pytest.mark.usefixtures("world_day")
def test_sla_review_date_in_the_future_is_a_field_error(client, world):
    sla = world.mine.sla
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:sla_edit", args=[world.org.slug, sla.pk]),
        {"code": sla.code, "name": sla.name, "kind": "sla", "unit": "percent",
         "direction": "higher", "period": "monthly", "weight": "1", "is_active": "on",
         "relevance_reviewed_at": "9999-12-31"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "to today (15 Mar 2026)" in response.context["form"].errors["relevance_reviewed_at"][0]


# ---------------------------------------------------------------------------
# Contracts: form, API create and PATCH
# ---------------------------------------------------------------------------


def _contract_post(world, **dates) -> dict:
    return {
        "reference": "NEW-001", "title": "Cleaning", "vendor": world.mine.vendor.pk,
        "category": "facilities", "annual_value": "30000", "currency": "EUR",
        "review_cadence": "monthly", "submission_deadline_days": "5", "at_risk_percent": "10",
        "governance_mode": "auto", **dates,
    }  # fmt: skip


CONTRACT_DATES = [
    pytest.param("2026-01-01", "9999-12-31", "end_date", "at most 30 years", id="end_9999"),
    pytest.param("0001-01-01", "2026-12-31", "start_date", "on or after 1 Jan 2000",
                 id="start_year_1"),
    pytest.param("9999-01-01", "9999-12-31", "start_date", "at most 5 years ahead",
                 id="start_9999"),
    pytest.param("2026-01-01", "2025-12-31", "end_date", "end after it starts", id="end_first"),
]  # fmt: skip


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("start", "end", "field", "says"), CONTRACT_DATES)
def test_contract_form_refuses_dates_out_of_range(client, world, start, end, field, says):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:contract_create", args=[world.org.slug]),
        _contract_post(world, start_date=start, end_date=end),
    )
    assert response.status_code == 200
    assert says in response.context["form"].errors[field][0]
    with scopes_disabled():
        assert not Contract.objects.filter(reference="NEW-001").exists()


def _api(world: World) -> APIClient:
    membership = world.bob.memberships.get()
    _, key = api_token_create(organization=world.org, actor=world.bob, membership=membership,
                              name="dates")  # fmt: skip
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("start", "end", "field", "says"), CONTRACT_DATES)
def test_contract_api_create_refuses_dates_out_of_range(world, start, end, field, says):
    data = _contract_post(world, start_date=start, end_date=end)
    response = _api(world).post(
        reverse("api:contract-list", kwargs={"org_slug": world.org.slug}), data, format="json"
    )
    assert response.status_code == 400
    assert says in response.json()[field][0]


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    ("patch", "field", "says"),
    [
        ({"start_date": "0001-01-01"}, "start_date", "on or after 1 Jan 2000"),
        ({"end_date": "9999-12-31"}, "end_date", "at most 30 years: it must end by 31 Dec 2054"),
        ({"start_date": "2040-01-01"}, "start_date", "on or before 15 Mar 2031"),
    ],
)
def test_contract_api_patch_refuses_dates_out_of_range_and_writes_nothing(
    world, patch, field, says
):
    contract = world.mine.contract
    with scopes_disabled():
        before = PeriodStatus.objects.filter(service_level__contract=contract).count()
    response = _api(world).patch(
        reverse("api:contract-detail", kwargs={"org_slug": world.org.slug, "pk": contract.pk}),
        patch, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert says in response.json()[field][0]
    with scopes_disabled():
        contract.refresh_from_db()
        assert (contract.start_date, contract.end_date) == (date(2025, 1, 1), date(2028, 12, 31))
        assert PeriodStatus.objects.filter(service_level__contract=contract).count() == before


@pytest.mark.usefixtures("world_day")
def test_contract_api_patch_inside_the_range_is_saved(world):
    contract = world.mine.contract
    response = _api(world).patch(
        reverse("api:contract-detail", kwargs={"org_slug": world.org.slug, "pk": contract.pk}),
        {"end_date": "2054-12-31"}, format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()


# ---------------------------------------------------------------------------
# Template download: a bad ?period= is a 400 that says why
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("9999-12", "year must be from 2000 to 2999"),
        ("0001-01", "year must be from 2000 to 2999"),
        ("2026-13", "no month 13"),
        ("2027-01", "2027-01 is still to come"),
        ("2026-03", "No period of 2026-03 has ended yet."),  # the current month
        ("next month", "is not a period"),
    ],
)
def test_template_with_a_bad_period_answers_400_with_the_reason(client, world, period, says):
    client.force_login(world.bob)
    url = reverse("metrics:vendor_template", args=[world.org.slug, world.mine.vendor.pk])
    response = client.get(url, {"period": period})
    assert response.status_code == 400
    assert says in response.content.decode()


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    "query", [{}, {"period": "2026-02"}, {"period": "2026-01", "format": "csv"}]
)
def test_template_for_a_month_owed_downloads(client, world, query):
    client.force_login(world.bob)
    url = reverse("metrics:vendor_template", args=[world.org.slug, world.mine.vendor.pk])
    response = client.get(url, query)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]


# ---------------------------------------------------------------------------
# Rows stored before the rules: pages, API and engine still work
# ---------------------------------------------------------------------------


def _poison(world: World) -> None:
    """Write what the old validation let through, straight into the database."""
    sla, contract = world.mine.sla, world.mine.contract
    with scopes_disabled():
        for month in range(2, 9):  # enough history for a forecast
            factories.ReadingFactory(organization=world.org, service_level=sla,
                                     period_start=date(2025, month, 1),
                                     value=Decimal("99.7"))  # fmt: skip
        for day in (date(9999, 12, 1), date(1, 1, 1)):
            factories.ReadingFactory(organization=world.org, service_level=sla,
                                     period_start=day, value=Decimal("99"))  # fmt: skip
        ServiceLevelTerms.objects.create(
            organization=world.org, service_level=sla, effective_from=date(9999, 12, 1),
            direction="higher", target=Decimal("99"), minimum=Decimal("98"),
        )  # fmt: skip
        Contract.objects.filter(pk=contract.pk).update(end_date=date(9999, 12, 31))
        # A status row for year 9999, as the old engine wrote for such a reading.
        PeriodStatus.objects.create(
            organization=world.org, service_level=sla, period_start=date(9999, 12, 1),
            colour="late", computed_at=world.mine.reading.submitted_at,
        )  # fmt: skip


@pytest.mark.usefixtures("world_day")
def test_pages_and_api_answer_with_poisoned_rows_present(client, world):
    _poison(world)
    sla, contract = world.mine.sla, world.mine.contract
    org = world.org.slug
    for user in (world.bob, world.vic, world.lena):
        client.force_login(user)
        for url in (
            reverse("contracts:portfolio", args=[org]),
            reverse("contracts:contract", args=[org, contract.pk]),
            reverse("metrics:sla", args=[org, sla.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 200, (user.username, url)
    api = _api(world)
    for name in ("contract-list", "sla-list", "status-list", "trend-list", "reading-list",
                 "credit-list"):  # fmt: skip
        response = api.get(reverse(f"api:{name}", kwargs={"org_slug": org}))
        assert response.status_code == 200, name
    detail = api.get(reverse("api:contract-detail", kwargs={"org_slug": org, "pk": contract.pk}))
    assert detail.json()["end_date"] == "9999-12-31"  # shown as stored


@pytest.mark.usefixtures("world_day")
def test_engine_skips_periods_outside_the_readable_span_and_drops_their_statuses(world):
    _poison(world)
    sla = world.mine.sla
    engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk], today=WORLD_DAY)
    with scopes_disabled():
        starts = sorted(PeriodStatus.objects.filter(service_level=sla).values_list(
            "period_start", flat=True))  # fmt: skip
        health = SlaHealth.objects.get(service_level=sla)
    # January 2025 to February 2026: the last closed month, never 9999 or year 1.
    assert starts[0] == date(2025, 1, 1)
    assert starts[-1] == date(2026, 2, 1)
    assert len(starts) == 14
    assert health.latest_period == date(2026, 2, 1)
    # Running it again changes nothing.
    assert engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk],
                            today=WORLD_DAY) == 0  # fmt: skip


@pytest.mark.usefixtures("world_day")
def test_a_contract_stored_as_starting_in_year_1_writes_periods_from_2000_only(world):
    sla = world.mine.sla
    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(start_date=date(1, 1, 1))
    engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk], today=WORLD_DAY)
    with scopes_disabled():
        starts = PeriodStatus.objects.filter(service_level=sla).values_list(
            "period_start", flat=True
        )
        assert min(starts) == date(2000, 1, 1)
        assert len(starts) == 26 * 12 + 2  # January 2000 to February 2026, not 24,000 months


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "10000-01-01", "0000-01-01"])
@pytest.mark.parametrize("name", ["status-list", "reading-list"])
def test_period_filters_with_extreme_dates_are_a_400(world, name, day):
    _poison(world)
    api = _api(world)
    for param in ("period_from", "period_to"):
        response = api.get(reverse(f"api:{name}", kwargs={"org_slug": world.org.slug}),
                           {param: day})  # fmt: skip
        assert response.status_code == 400, (param, response.status_code)


@pytest.mark.parametrize("name", ["reading-list", "status-list"])
@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2026-01-01", 200),
        ("9999-12-31", 400),
        ("0001-01-01", 400),
        ("2026-\u0661\u0660-01", 400),  # Arabic-Indic digits
        ("2026-1-1", 400),
        ("2026-02-30", 400),
        ("20260101", 400),
    ],
)
def test_period_filters_take_dates_in_the_products_years_written_in_ascii_digits(
    world, name, day, status
):
    api = _api(world)
    response = api.get(
        reverse(f"api:{name}", kwargs={"org_slug": world.org.slug}), {"period_from": day}
    )
    assert response.status_code == status, response.content[:200]
    if status == 400:
        assert "period_from" in response.json()
