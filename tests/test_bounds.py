"""
Huge, tiny and impossible numbers: every number the product takes in a form
or the API is checked against one range rule (contracts.bounds), with a field
error that says what is allowed; odd spellings (NaN, Infinity, full-width or
Arabic-Indic digits, 60 digits, 7 decimals) are a field error, `-0` is 0; and
the ratchet never computes a threshold a status row can't store.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection  # noqa: F401 (read by the skip condition)
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from contracts import bounds, rules, services
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms
from escalations.models import EscalationStep
from metrics import engine
from metrics.models import PeriodStatus, SlaHealth
from slagov.models import Organization
from slagov.services import api_token_create
from tests import factories
from tests.conftest import World

WORLD_DAY = date(2026, 3, 15)  # the world's contracts run 2025-01-01 to 2028-12-31
D = Decimal
UNITS = ServiceLevel.Unit.values

# Every odd way of writing a number that must be a field error, never a 500 or a misread.
ODD = [
    pytest.param("NaN", "digits 0-9", id="nan"),
    pytest.param("Infinity", "digits 0-9", id="infinity"),
    pytest.param("-inf", "digits 0-9", id="minus_inf"),
    pytest.param("\uff11\uff10\uff10", "digits 0-9", id="full_width_100"),
    pytest.param("\u0663", "digits 0-9", id="arabic_indic_3"),
    pytest.param("\u00b2", "digits 0-9", id="superscript_2"),
    pytest.param("1e5000", "digits 0-9", id="exponent_5000"),
    pytest.param("9" * 200, "Too long for a number", id="200_digits"),
    pytest.param("99.1234567", "At most", id="seven_decimals"),
]
# Numbers that read but are far out of range: a range error that says what is allowed.
HUGE = [
    pytest.param("1e400", id="1e400"),
    pytest.param("9" * 60, id="60_digits"),
    pytest.param("-" + "9" * 60, id="minus_60_digits"),
]

# SQLite (the embedded demo) keeps a decimal as a binary float: a value of 18 significant
# digits (999999999999.999999, the largest stored) reads back as 10^12, past the field.
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="SQLite keeps decimals as floats: the largest stored values don't round-trip",
)


@pytest.fixture
def world_day():
    with time_machine.travel(WORLD_DAY, tick=False):
        yield


def _errors(response, form="form") -> dict:
    assert response.status_code == 200, response.status_code
    return response.context[form].errors


def _api(world: World, user=None) -> APIClient:
    user = user or world.bob
    _, key = api_token_create(organization=world.org, actor=user,
                              membership=user.memberships.get(), name="bounds")  # fmt: skip
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def _unit(sla, unit: str) -> None:
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=sla.pk).update(unit=unit)
        sla.refresh_from_db()


# ---------------------------------------------------------------------------
# The rules, at their boundaries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        ("0", "percent", True), ("100", "percent", True), ("100.000001", "percent", False),
        ("-0.000001", "percent", False), ("0", "hours", True), ("-0.000001", "minutes", False),
        ("999999999999.999999", "count", True), ("1000000000000", "count", False),
        ("999999999999.999999", "days", True), ("1e400", "score", False),
        ("1.1234567", "hours", False), ("1.1234560", "hours", True),
    ],
)  # fmt: skip
def test_value_rule_at_its_boundaries(value, unit, ok):
    assert (bounds.value_problem(D(value), unit) is None) is ok


def test_value_rule_says_what_is_allowed():
    assert bounds.value_problem(D(101), "percent") == "A percentage must be between 0 and 100."
    assert bounds.value_problem(D(-1), "hours") == "A value in hours can't be negative."
    assert bounds.value_problem(D("1e13"), "count") == (
        "A value must be from 0 to under 1,000,000,000,000."
    )
    assert bounds.value_problem(D("NaN"), "count") == "Enter a finite number."


@pytest.mark.parametrize(
    ("improvement", "rate", "unit", "ok"),
    [
        ("relative", "50", "hours", True), ("relative", "50.000001", "hours", False),
        ("relative", "0", "hours", False), ("absolute", "100", "percent", True),
        ("absolute", "100.000001", "percent", False), ("absolute", "999999", "count", True),
        ("absolute", "999999999999.999999", "count", True), ("absolute", "0", "count", False),
        ("absolute", "1e12", "count", False),
    ],
)  # fmt: skip
def test_improvement_rate_rule_at_its_boundaries(improvement, rate, unit, ok):
    assert (bounds.improvement_rate_problem(improvement, D(rate), unit) is None) is ok


@pytest.mark.parametrize(
    ("numbers", "fields"),
    [
        ({"annual_value": D(0), "at_risk_percent": D(0), "deadline_days": 0}, set()),
        ({"annual_value": D(10**11), "at_risk_percent": D(100), "deadline_days": 60}, set()),
        ({"annual_value": D(10**11) + D("0.01"), "at_risk_percent": None, "deadline_days": None},
         {"annual_value"}),
        ({"annual_value": D(-1), "at_risk_percent": D("100.01"), "deadline_days": 61},
         {"annual_value", "at_risk_percent", "submission_deadline_days"}),
        ({"annual_value": D("1.001"), "at_risk_percent": D("-0.01"), "deadline_days": -1},
         {"annual_value", "at_risk_percent", "submission_deadline_days"}),
    ],
)  # fmt: skip
def test_contract_numbers_rule_at_its_boundaries(numbers, fields):
    assert set(bounds.contract_numbers_problems(**numbers)) == fields


def test_number_text_rule_reads_plain_ascii_numbers_only():
    for text in ("99.95", "-0", "+3", ".5", "5.", "1e3", "1E-2", " 7 "):
        assert bounds.number_text_problem(text) is None, text
    for text in ("NaN", "nan", "Infinity", "inf", "\uff11", "\u0663", "\u00b2", "1,5", "0x10",
                 "1_000", "", "--1", "1e", "1e5000"):  # fmt: skip
        assert bounds.number_text_problem(text) is not None, text
    assert bounds.number_text_problem("5", integer=True) is None
    assert bounds.number_text_problem("5.5", integer=True) is not None


# ---------------------------------------------------------------------------
# The ratchet never leaves the unit's range nor what a status row stores
# ---------------------------------------------------------------------------


def _random_decimal(rng: random.Random, high: Decimal) -> Decimal:
    """Anything a Decimal(18,6) column can hold, biased to the edges."""
    pick = rng.random()
    if pick < 0.2:
        return rng.choice([D(0), high, -high, D("0.000001"), D(100), D("99.999999")])
    magnitude = D(10) ** rng.randint(-6, 11)
    return (D(rng.uniform(-1, 1)) * magnitude * 10).quantize(D("0.000001")).max(-high).min(high)


def test_thresholds_in_force_stay_storable_and_in_the_unit_for_any_stored_terms():
    rng = random.Random(12)
    for _ in range(4000):
        direction = rng.choice(rules.Direction.values)
        a, b = _random_decimal(rng, bounds.STORED_MAX), _random_decimal(rng, bounds.STORED_MAX)
        target, minimum = (
            (max(a, b), min(a, b)) if direction == "higher" else (min(a, b), max(a, b))
        )
        improvement = rng.choice(rules.Improvement.values)
        rate = D(0)
        if improvement == "relative":
            rate = D(rng.uniform(0.000001, 99.999999)).quantize(D("0.000001"))
        elif improvement == "absolute":
            rate = _random_decimal(rng, D("999999.999999")).copy_abs() or D(1)
        bound = rng.choice([None, _random_decimal(rng, bounds.STORED_MAX)])
        unit = rng.choice([*UNITS, None])
        terms = rules.Terms(target=target, minimum=minimum, direction=direction,
                            improvement=improvement, improvement_rate=rate,
                            improvement_bound=bound, unit=unit)  # fmt: skip
        low, high = bounds.value_range(unit)
        for steps in (0, 1, 2, rng.randint(3, 60)):
            thresholds = rules.thresholds_in_force(terms, steps)  # ordered, or it raises
            for value in (thresholds.target, thresholds.minimum):
                assert low <= value <= high, (terms, steps, value)
                assert -bounds.STORED_MAX <= value <= bounds.STORED_MAX
                assert bounds.decimals_problem(value) is None, (terms, steps, value)


@postgresql_only
@pytest.mark.usefixtures("world_day")
def test_the_engine_writes_only_storable_thresholds_for_random_stored_terms(world):
    """Terms written past every validation (admin, SQL): the engine clamps, it never overflows."""
    rng = random.Random(3)
    sla = world.mine.sla
    for _ in range(12):
        unit = rng.choice(UNITS)
        direction = rng.choice(rules.Direction.values)
        big = rng.choice([bounds.STORED_MAX, D("999999999999"), D("123456.654321")])
        target, minimum = (big, D(0)) if direction == "higher" else (D(0), big)
        improvement = rng.choice(["absolute", "relative"])
        rates = [D("99.999999"), D(1)] + ([D("999999.999999")] if improvement == "absolute" else [])
        with scopes_disabled():
            ServiceLevel.objects.filter(pk=sla.pk).update(unit=unit, direction=direction)
            ServiceLevelTerms.objects.filter(service_level=sla).update(
                direction=direction, target=target, minimum=minimum, improvement=improvement,
                improvement_rate=rng.choice(rates), effective_from=date(2025, 1, 1),
            )  # fmt: skip
        engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk])
        low, high = bounds.value_range(unit)
        with scopes_disabled():
            rows = list(PeriodStatus.objects.filter(service_level=sla, target__isnull=False))
            health = SlaHealth.objects.get(service_level=sla)
        assert rows
        for row in rows:
            assert low <= row.target <= high
            assert low <= row.minimum <= high
        assert low <= health.target <= high


# ---------------------------------------------------------------------------
# Terms: the form and the service
# ---------------------------------------------------------------------------


def _terms_post(**fields) -> dict:
    return {
        "effective_from": "2025-01-01", "target": "99.9", "minimum": "99.5",
        "improvement": "none", "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0", **fields,
    }  # fmt: skip


def _post_terms(client, world, sla, **fields):
    client.force_login(world.bob)
    return client.post(reverse("contracts:terms_create", args=[world.org.slug, sla.pk]),
                       _terms_post(**fields))  # fmt: skip


@postgresql_only
@pytest.mark.usefixtures("world_day")
def test_absolute_clause_at_the_count_limit_never_overflows_a_later_year(client, world):
    """The poison of old: 999,999,999,999 improving by 999,999 a year, on a count."""
    sla = world.mine.sla
    _unit(sla, "count")
    response = _post_terms(client, world, sla, target="999999999999", minimum="0",
                           improvement="absolute", improvement_rate="999999")  # fmt: skip
    assert response.status_code == 302
    engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk])
    with scopes_disabled():
        # 2026 is the contract's second year: the target stops at the largest storable count.
        status = PeriodStatus.objects.get(service_level=sla, period_start=date(2026, 1, 1))
    assert status.target == bounds.STORED_MAX
    assert status.minimum == D("999999")


@pytest.mark.usefixtures("world_day")
def test_the_same_terms_on_a_percentage_are_field_errors(client, world):
    errors = _errors(_post_terms(client, world, world.mine.sla, target="999999999999",
                                 minimum="0", improvement="absolute",
                                 improvement_rate="999999"))  # fmt: skip
    assert errors["target"] == ["The target is a percentage: it must be between 0 and 100."]
    assert errors["improvement_rate"] == [
        "An absolute improvement is above 0 and at most 100 points a year."
    ]


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    ("unit", "fields", "field", "says"),
    [
        ("hours", {"target": "-1", "minimum": "8"}, "target", "can't be negative"),
        ("hours", {"target": "4", "minimum": "1e13"}, "minimum", "under 1,000,000,000,000"),
        ("hours", {"target": "4", "minimum": "8", "improvement": "relative",
                   "improvement_rate": "60"}, "improvement_rate", "at most 50 % a year"),
        ("count", {"target": "4", "minimum": "8", "improvement": "absolute",
                   "improvement_rate": "1e12"}, "improvement_rate", "at most 999,999,999,999"),
        ("percent", {"improvement": "absolute", "improvement_rate": "0.1",
                     "improvement_bound": "101"}, "improvement_bound", "between 0 and 100"),
    ],
)  # fmt: skip
def test_terms_out_of_the_unit_range_are_field_errors(client, world, unit, fields, field, says):
    sla = world.mine.sla
    if unit != "percent":
        with scopes_disabled():
            ServiceLevel.objects.filter(pk=sla.pk).update(unit=unit, direction="lower")
            ServiceLevelTerms.objects.filter(service_level=sla).delete()
            sla.refresh_from_db()
    errors = _errors(_post_terms(client, world, sla, **fields))
    assert says in errors[field][0]


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("text", "says"), ODD)
def test_odd_numbers_in_the_terms_form_are_field_errors(client, world, text, says):
    errors = _errors(_post_terms(client, world, world.mine.sla, target=text))
    assert says in errors["target"][0]
    with scopes_disabled():
        assert ServiceLevelTerms.objects.filter(service_level=world.mine.sla).count() == 1


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize("text", HUGE)
def test_huge_numbers_in_the_terms_form_are_range_errors(client, world, text):
    errors = _errors(_post_terms(client, world, world.mine.sla, minimum=text))
    assert errors["minimum"] == ["The minimum is a percentage: it must be between 0 and 100."]


@pytest.mark.usefixtures("world_day")
def test_credit_tiers_out_of_range_are_refused(client, world):
    client.force_login(world.bob)
    for level, pct, says in [
        ("101", "5", "between 0 and 100"),
        ("99", "100.01", "at most 100 %"),
        ("99", "NaN", "digits 0-9"),
        ("\u0669\u0669", "5", "digits 0-9"),
    ]:
        data = _terms_post(**{"tiers-TOTAL_FORMS": "1", "tiers-0-worse_than": level,
                              "tiers-0-percent": pct})  # fmt: skip
        response = client.post(
            reverse("contracts:terms_create", args=[world.org.slug, world.mine.sla.pk]), data
        )
        assert response.status_code == 200
        assert says in response.content.decode(), (level, pct)


@pytest.mark.usefixtures("world_day")
def test_a_new_sla_gets_its_terms_checked_against_its_unit(client, world):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk]),
        {"code": "resp", "name": "Response", "kind": "sla", "unit": "percent",
         "direction": "higher", "period": "monthly", "weight": "1", "is_active": "on",
         **_terms_post(target="150", minimum="99")},
    )  # fmt: skip
    assert _errors(response, "terms_form")["target"] == [
        "The target is a percentage: it must be between 0 and 100."
    ]


@pytest.mark.usefixtures("world_day")
def test_terms_service_refuses_what_the_form_refuses(world):
    sla = world.mine.sla
    with scopes_disabled(), pytest.raises(ValidationError) as caught:
        services.terms_agree(
            organization=world.org, actor=world.bob, service_level=sla,
            effective_from=date(2025, 1, 1), target=D("1e13"), minimum=D(0),
            improvement="relative", improvement_rate=D(99), tiers=[(D(99), D(101))],
        )  # fmt: skip
    assert set(caught.value.message_dict) == {"target", "improvement_rate", "credit_tiers"}


@pytest.mark.usefixtures("world_day")
def test_sla_weight_is_bounded(client, world):
    sla = world.mine.sla
    client.force_login(world.bob)
    post = {"code": sla.code, "name": sla.name, "kind": "sla", "unit": "percent",
            "direction": "higher", "period": "monthly", "is_active": "on"}  # fmt: skip
    for weight, says in [("101", "from 0 to 100"), ("\u0663", "digits 0-9")]:
        response = client.post(reverse("contracts:sla_edit", args=[world.org.slug, sla.pk]),
                               {**post, "weight": weight})  # fmt: skip
        assert says in _errors(response)["weight"][0]


# ---------------------------------------------------------------------------
# Manual readings
# ---------------------------------------------------------------------------


def _post_reading(client, world, value, sla=None):
    client.force_login(world.bob)
    sla = sla or world.mine.sla
    return client.post(reverse("metrics:reading_create", args=[world.org.slug, sla.pk]),
                       {"period": "2026-02", "value": value})  # fmt: skip


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("text", "says"), ODD)
def test_odd_numbers_as_a_reading_are_field_errors(client, world, text, says):
    assert says in _errors(_post_reading(client, world, text))["value"][0]
    with scopes_disabled():
        assert not world.mine.sla.readings.filter(period_start=date(2026, 2, 1)).exists()


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize("text", HUGE)
def test_huge_readings_are_range_errors(client, world, text):
    sla = world.mine.sla
    _unit(sla, "count")
    errors = _errors(_post_reading(client, world, text, sla))["value"]
    assert errors[0] in {"A value must be from 0 to under 1,000,000,000,000.",
                         "A value in count can't be negative."}  # fmt: skip


@pytest.mark.usefixtures("world_day")
def test_minus_zero_is_read_as_zero(client, world):
    sla = world.mine.sla
    response = _post_reading(client, world, "-0")
    assert response.status_code == 302
    with scopes_disabled():
        reading = sla.readings.get(period_start=date(2026, 2, 1))
    assert reading.value == 0
    assert not reading.value.is_signed()
    page = client.get(response.url).content.decode()
    assert "avail 2026-02: 0 saved." in page


# ---------------------------------------------------------------------------
# Contracts: form, API create and PATCH
# ---------------------------------------------------------------------------


def _contract_post(world, **fields) -> dict:
    return {
        "reference": "NEW-001", "title": "Cleaning", "vendor": world.mine.vendor.pk,
        "category": "facilities", "annual_value": "30000", "currency": "EUR",
        "start_date": "2026-01-01", "end_date": "2026-12-31", "review_cadence": "monthly",
        "submission_deadline_days": "5", "at_risk_percent": "10", "governance_mode": "auto",
        **fields,
    }  # fmt: skip


CONTRACT_NUMBERS = [
    pytest.param("annual_value", "100000000000.01", "from 0 to 100,000,000,000", id="value_big"),
    pytest.param("annual_value", "-1", "from 0 to 100,000,000,000", id="value_negative"),
    pytest.param("annual_value", "1e400", "from 0 to 100,000,000,000", id="value_1e400"),
    pytest.param("annual_value", "9" * 60, "from 0 to 100,000,000,000", id="value_60_digits"),
    pytest.param("annual_value", "NaN", "digits 0-9", id="value_nan"),
    pytest.param("annual_value", "Infinity", "digits 0-9", id="value_infinity"),
    pytest.param("annual_value", "\uff11\uff10\uff10", "digits 0-9", id="value_full_width"),
    pytest.param("annual_value", "1.001", "At most 2 decimal places", id="value_cents"),
    pytest.param("at_risk_percent", "100.01", "from 0 to 100 %", id="at_risk_big"),
    pytest.param("at_risk_percent", "\u0663", "digits 0-9", id="at_risk_arabic"),
    pytest.param("submission_deadline_days", "61", "from 0 to 60", id="deadline_61"),
    pytest.param("submission_deadline_days", "\u0663", "digits 0-9", id="deadline_arabic"),
    pytest.param("submission_deadline_days", "9" * 60, "from 0 to 60", id="deadline_60_digits"),
]


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("field", "text", "says"), CONTRACT_NUMBERS)
def test_contract_form_refuses_numbers_out_of_range(client, world, field, text, says):
    client.force_login(world.bob)
    response = client.post(reverse("contracts:contract_create", args=[world.org.slug]),
                           _contract_post(world, **{field: text}))  # fmt: skip
    assert says in " ".join(_errors(response)[field])
    with scopes_disabled():
        assert not Contract.objects.filter(reference="NEW-001").exists()


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(("field", "text", "says"), CONTRACT_NUMBERS)
def test_contract_api_refuses_numbers_out_of_range(world, field, text, says):
    response = _api(world).post(reverse("api:contract-list", kwargs={"org_slug": world.org.slug}),
                                _contract_post(world, **{field: text}), format="json")  # fmt: skip
    assert response.status_code == 400
    assert field in response.json()
    with scopes_disabled():
        assert not Contract.objects.filter(reference="NEW-001").exists()


@pytest.mark.usefixtures("world_day")
def test_contract_api_range_errors_say_what_is_allowed(world):
    url = reverse("api:contract-detail", kwargs={"org_slug": world.org.slug,
                                                 "pk": world.mine.contract.pk})  # fmt: skip
    api = _api(world)
    for patch, field, says in [
        ({"annual_value": "200000000000"}, "annual_value", "from 0 to 100,000,000,000"),
        ({"submission_deadline_days": 90}, "submission_deadline_days", "from 0 to 60"),
        ({"at_risk_percent": "-0.5"}, "at_risk_percent", "from 0 to 100 %"),
        ({"annual_value": "\u0663"}, "annual_value", "digits 0-9"),
        ({"submission_deadline_days": "\u0663"}, "submission_deadline_days", "digits 0-9"),
    ]:
        response = api.patch(url, patch, format="json")
        assert response.status_code == 400, patch
        assert says in response.json()[field][0], patch
    with scopes_disabled():
        contract = Contract.objects.get(pk=world.mine.contract.pk)
    assert (contract.annual_value, contract.submission_deadline_days) == (D(240000), 5)


@pytest.mark.usefixtures("world_day")
@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"annual_value": NaN}', id="json_nan"),
        pytest.param('{"annual_value": Infinity}', id="json_infinity"),
        pytest.param('{"annual_value": 1e400}', id="json_1e400"),
        pytest.param('{"annual_value": ' + "9" * 60 + "}", id="json_60_digits"),
        pytest.param('{"annual_value": 0.1234567}', id="json_seven_decimals"),
        pytest.param('{"submission_deadline_days": 1e400}', id="json_days_1e400"),
        pytest.param('{"submission_deadline_days": 5.5}', id="json_days_fraction"),
        pytest.param('{"submission_deadline_days": true}', id="json_days_true"),
    ],
)
def test_odd_json_numbers_are_a_400_never_a_500(world, body):
    url = reverse("api:contract-detail", kwargs={"org_slug": world.org.slug,
                                                 "pk": world.mine.contract.pk})  # fmt: skip
    response = _api(world).patch(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    with scopes_disabled():
        contract = Contract.objects.get(pk=world.mine.contract.pk)
    assert (contract.annual_value, contract.submission_deadline_days) == (D(240000), 5)


@pytest.mark.usefixtures("world_day")
def test_minus_zero_through_the_api_is_stored_as_zero(world):
    url = reverse("api:contract-detail", kwargs={"org_slug": world.org.slug,
                                                 "pk": world.mine.contract.pk})  # fmt: skip
    response = _api(world).patch(url, {"at_risk_percent": "-0"}, format="json")
    assert response.status_code == 200
    assert response.json()["at_risk_percent"] == "0.00"


# ---------------------------------------------------------------------------
# Escalation policy steps: the page and the API
# ---------------------------------------------------------------------------


def _step_post(**step) -> dict:
    base = {"condition": "state", "state": "red", "threshold": "10", "level": "1",
            "recipients": ["owner"], "action": "Meet", **step}  # fmt: skip
    management = {"TOTAL_FORMS": "1", "INITIAL_FORMS": "0", "MIN_NUM_FORMS": "0",
                  "MAX_NUM_FORMS": "12"}  # fmt: skip
    return {
        f"steps-{k}": v for k, v in {**management, **{f"0-{k}": v for k, v in base.items()}}.items()
    }


STEP_NUMBERS = [
    pytest.param({"threshold": "367"}, "threshold", "from 0 to 366", id="days_367"),
    pytest.param({"condition": "forecast", "state": "", "threshold": "4"}, "threshold",
                 "looks at most 3 periods ahead: from 1 to 3", id="forecast_4"),
    pytest.param({"due_hours": "721"}, "due_hours", "from 1 to 720", id="due_721"),
    pytest.param({"due_hours": "0"}, "due_hours", "from 1 to 720", id="due_0"),
    pytest.param({"threshold": "\u0663"}, "threshold", "digits 0-9", id="arabic"),
    pytest.param({"level": "\uff13"}, "level", "digits 0-9", id="full_width"),
    pytest.param({"threshold": "9" * 60}, "threshold", None, id="60_digits"),
    pytest.param({"threshold": "NaN"}, "threshold", "digits 0-9", id="nan"),
]  # fmt: skip


@pytest.mark.parametrize(("step", "field", "says"), STEP_NUMBERS)
def test_policy_page_refuses_step_numbers_out_of_range(client, world, step, field, says):
    client.force_login(world.alice)
    response = client.post(reverse("escalations:policy", args=[world.org.slug]), _step_post(**step))
    assert response.status_code == 200
    errors = response.context["formset"].forms[0].errors[field]
    assert says is None or says in errors[0]
    with scopes_disabled():
        assert not EscalationStep.objects.filter(organization=world.org, action="Meet").exists()


@pytest.mark.parametrize(("step", "field", "says"), STEP_NUMBERS)
def test_policy_api_refuses_step_numbers_out_of_range(world, step, field, says):
    api = _api(world, world.alice)
    base = f"/api/v1/o/{world.org.slug}/escalation-policies/"
    policy = api.get(base).json()["results"][0]
    body = {"condition": "state", "state": "red", "threshold": "10", "level": 1,
            "recipients": ["owner"], "action": "Meet", **step}  # fmt: skip
    response = api.put(f"{base}{policy['id']}/", {"steps": [body]}, format="json")
    assert response.status_code == 400
    errors = response.json()["steps"]
    errors = errors["0"] if isinstance(errors, dict) else errors[0]
    assert says is None or says in errors[field][0]


# ---------------------------------------------------------------------------
# The organisation's settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", ["-1", "100000000000.01", "0.001"])
def test_compliance_threshold_out_of_range_is_refused(db, threshold):
    org = Organization(name="X", slug="x", compliance_threshold=D(threshold))
    with pytest.raises(ValidationError) as caught:
        org.full_clean()
    assert "compliance_threshold" in caught.value.message_dict


def test_compliance_threshold_in_range_is_taken(db):
    factories.OrganizationFactory.build(compliance_threshold=D(10**11)).full_clean()


# ---------------------------------------------------------------------------
# The admin writes through the models: their clean() asks the same rules
# ---------------------------------------------------------------------------


def test_models_refuse_numbers_out_of_range_for_the_admin(world):
    with scopes_disabled():
        contract = Contract.objects.get(pk=world.mine.contract.pk)
        contract.annual_value = D(10**11 + 1)
        contract.submission_deadline_days = 61
        with pytest.raises(ValidationError) as caught:
            contract.full_clean()
        assert set(caught.value.message_dict) >= {"annual_value", "submission_deadline_days"}
        terms = ServiceLevelTerms.objects.get(pk=world.mine.terms.pk)
        terms.target, terms.improvement, terms.improvement_rate = D(101), "absolute", D(101)
        with pytest.raises(ValidationError) as caught:
            terms.full_clean()
        assert set(caught.value.message_dict) == {"target", "improvement_rate"}
        tier = world.mine.terms.credit_tiers.get()
        tier.worse_than = D(-1)
        with pytest.raises(ValidationError) as caught:
            tier.full_clean()
        assert caught.value.message_dict == {
            "worse_than": ["The level is a percentage: it must be between 0 and 100."]
        }


def test_the_upload_validator_judges_value_ranges_as_the_bounds_rule_does(w):
    """The vectorised range check of uploads is the same rule as bounds.value_problem."""
    import pandas as pd

    from metrics.ingest import validate

    catalogue = validate.VendorCatalogue.load(organization_id=w.org.pk, vendor_id=w.vendor.pk)
    rng = random.Random(13)
    edges = ["0", "-0.000001", "100", "100.000001", "99.999999", "999999999999.999999",
             "1000000000000", "999999999999.99999", "-1", "0.000001", "100000000000"]  # fmt: skip
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13) if (y, m) <= (2026, 10)]
    for _ in range(10):
        rows = []
        for code in ("avail", "p1-res", "csat"):
            for month in months:
                text = rng.choice(edges) if rng.random() < 0.5 else f"{rng.uniform(-50, 150):.6f}"
                rows.append({"row": len(rows) + 2, "contract": "CORP-1", "sla": code,
                             "period": month, "value": text, "note": ""})  # fmt: skip
        checked = validate.check(
            pd.DataFrame(rows), catalogue, today=date(2026, 11, 25), organization_id=w.org.pk
        )
        refused = {p.row for p in checked.problems if p.column == "value"}
        for row in rows:
            unit = w.slas[row["sla"]].unit
            expected = bounds.value_problem(Decimal(row["value"]), unit) is not None
            assert (row["row"] in refused) == expected, row
