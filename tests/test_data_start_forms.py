"""
Setting an SLA's data start ("Data owed from") on the SLA form and through the
service: one rule (`periods.data_start_problem`) for both, clear field errors,
the default when left empty, the move to a new period kind; shown read-only in
the API.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from contracts import services
from contracts.models import ServiceLevel
from metrics.models import PeriodStatus
from tests import factories
from tests.conftest import World, token_client
from tests.test_api_schema import assert_conforms

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)  # the world's contracts run from Jan 2025 to 2028


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def _sla_post(**fields) -> dict:
    return {
        "code": "resp", "name": "Response time", "kind": "sla", "unit": "hours",
        "direction": "lower", "period": "monthly", "weight": "1", "is_active": "on",
        "effective_from": "2025-01-01", "target": "4", "minimum": "8", "improvement": "none",
        "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0", **fields,
    }  # fmt: skip


def _edit_post(sla: ServiceLevel, **fields) -> dict:
    return {
        "code": sla.code, "name": sla.name, "kind": sla.kind, "unit": sla.unit,
        "direction": sla.direction, "period": sla.period, "weight": str(sla.weight),
        "is_active": "on", **fields,
    }  # fmt: skip


def _create(client, world: World, **fields):
    client.force_login(world.bob)
    return client.post(
        reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk]),
        _sla_post(**fields),
    )


def _stored(world: World, code: str = "resp") -> date:
    with scopes_disabled():
        return ServiceLevel.objects.get(contract=world.mine.contract, code=code).data_start


@pytest.mark.usefixtures("now")
@pytest.mark.parametrize(
    ("period", "typed", "stored"),
    [
        ("monthly", "2026-03", date(2026, 3, 1)),
        ("monthly", "2026-03-15", date(2026, 3, 1)),  # a day inside the month: that month
        ("monthly", "2025-01", date(2025, 1, 1)),  # the contract's first month
        ("weekly", "2026-W42", date(2026, 10, 12)),
        ("weekly", "2026-w42", date(2026, 10, 12)),
        ("weekly", "2026-10-15", date(2026, 10, 12)),  # a Thursday: its week
        ("monthly", "", date(2026, 11, 1)),  # empty: the first period that ends after today
        ("weekly", "", date(2026, 11, 23)),
    ],
)
def test_a_new_sla_owes_data_from_the_period_typed_or_by_default_from_now(
    client, world: World, period, typed, stored
):
    response = _create(client, world, period=period, data_start=typed)
    assert response.status_code == 302, response.context["form"].errors
    assert _stored(world) == stored


@pytest.mark.usefixtures("now")
@pytest.mark.parametrize(
    ("period", "typed", "message"),
    [
        ("monthly", "2024-12",
         "Data is owed from a period inside the contract term: from 2025-01 to 2028-12."),
        ("monthly", "2029-01",
         "Data is owed from a period inside the contract term: from 2025-01 to 2028-12."),
        ("weekly", "2024-W52",
         "Data is owed from a period inside the contract term: from 2025-W01 to 2028-W52."),
        ("monthly", "2026-13", "'2026-13' is not a period: a year has no month 13"),
        ("monthly", "soon", "'soon' is not a period: write 2026-10 or a date like 2026-10-15"),
        ("monthly", "2026-W42",
         "'2026-W42' is not a period (this SLA is measured monthly): write 2026-10 or a date "
         "like 2026-10-15"),
        ("weekly", "2026-10",
         "'2026-10' is not a period: write 2026-W42 or a date like 2026-10-15"),
        ("weekly", "2026-W54", "'2026-W54' is not a period: 2026 has no ISO week 54"),
        ("monthly", "1999-12", "'1999-12' is not a period: the year must be from 2000 to 2999"),
        # Arabic-Indic digits are not read as digits.
        ("monthly", "\u0662\u0660\u0662\u0666-\u0661\u0660", "is not a period"),
    ],
)  # fmt: skip
def test_a_data_start_that_is_not_a_period_of_the_term_is_a_field_error(
    client, world: World, period, typed, message
):
    response = _create(client, world, period=period, data_start=typed)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["data_start"]
    assert message in error
    with scopes_disabled():
        assert not ServiceLevel.objects.filter(code="resp").exists()
    html = response.content.decode()
    assert 'id="id_data_start_error"' in html  # the id the field's aria-describedby names
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_data_start_error"[^>]*name="data_start"'
                     r'|<input[^>]*name="data_start"[^>]*aria-describedby="[^"]*id_data_start_error"',
                     html)  # fmt: skip


@pytest.mark.usefixtures("now")
def test_the_edit_form_shows_the_data_start_as_a_period_and_keeps_it_when_untouched(
    client, world: World
):
    client.force_login(world.bob)
    url = reverse("contracts:sla_edit", args=[world.org.slug, world.mine.sla.pk])
    assert client.get(url).context["form"]["data_start"].value() == "2025-01"
    response = client.post(url, _edit_post(world.mine.sla, name="Renamed", data_start="2025-01"))
    assert response.status_code == 302, response.context["form"].errors
    assert _stored(world, "avail") == date(2025, 1, 1)


@pytest.mark.usefixtures("now")
def test_moving_the_data_start_later_takes_the_past_late_statuses_away(
    client, world: World, django_capture_on_commit_callbacks
):
    sla = world.mine.sla  # owed from January 2025; only January 2026 was reported
    client.force_login(world.bob)
    url = reverse("contracts:sla_edit", args=[world.org.slug, sla.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, _edit_post(sla, data_start="2025-01"))
    with scopes_disabled():
        late = PeriodStatus.objects.filter(service_level=sla, colour="late")
        assert late.count() == 21  # Jan 2025 to Oct 2026 but January 2026
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, _edit_post(sla, data_start="2026-11"))
        assert response.status_code == 302, response.context["form"].errors
        assert not late.exists()
        colours = dict(
            PeriodStatus.objects.filter(service_level=sla).values_list("period_start", "colour")
        )
    assert colours[date(2026, 1, 1)] == "green"  # still judged: a reading before the data start
    assert colours[date(2025, 6, 1)] == "no_data"


@pytest.mark.usefixtures("now")
def test_emptying_the_data_start_gives_the_default_from_the_day_the_sla_was_added(
    client, world: World
):
    with time_machine.travel(datetime(2026, 6, 10, 9, tzinfo=UTC), tick=False):
        sla = factories.ServiceLevelFactory(
            contract=world.mine.contract, organization=world.org, code="later"
        )  # owed from January 2025, as the factory says
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:sla_edit", args=[world.org.slug, sla.pk]),
        _edit_post(sla, data_start=""),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert _stored(world, "later") == date(2026, 6, 1)  # added 10 June


@pytest.mark.usefixtures("now")
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-10", date(2026, 9, 28)),  # untouched: the week containing 1 October
        ("2026-W45", date(2026, 11, 2)),  # typed anew, in the new kind
    ],
)
def test_a_new_period_kind_moves_the_data_start_into_a_period_of_that_kind(
    client, world: World, typed, stored
):
    sla = factories.ServiceLevelFactory(  # no terms or readings yet: its kind may change
        contract=world.mine.contract, organization=world.org, code="fresh",
        data_start=date(2026, 10, 1),
    )  # fmt: skip
    client.force_login(world.bob)
    url = reverse("contracts:sla_edit", args=[world.org.slug, sla.pk])
    response = client.post(url, _edit_post(sla, period="weekly", data_start=typed))
    assert response.status_code == 302, response.context["form"].errors
    assert _stored(world, "fresh") == stored


def _save(world: World, sla: ServiceLevel, **data) -> ServiceLevel:
    with scopes_disabled():
        return services.service_level_save(
            organization=world.org, actor=world.bob, contract=sla.contract, data=data,
            service_level=sla,
        )  # fmt: skip


@pytest.mark.usefixtures("now")
def test_the_service_refuses_a_day_that_does_not_start_a_period_and_says_so(world: World):
    with pytest.raises(ValidationError) as caught:
        _save(world, world.mine.sla, data_start=date(2026, 10, 15))
    assert caught.value.message_dict == {
        "data_start": [
            "Refused: 15 Oct 2026 is not the first day of a month. "
            "The month containing it, 2026-10, starts on 1 Oct 2026."
        ]
    }
    assert _stored(world, "avail") == date(2025, 1, 1)


@pytest.mark.usefixtures("now")
def test_the_service_refuses_a_data_start_outside_the_term(world: World):
    with pytest.raises(ValidationError) as caught:
        _save(world, world.mine.sla, data_start=date(2029, 1, 1))
    assert "inside the contract term: from 2025-01 to 2028-12" in str(caught.value)


@pytest.mark.usefixtures("now")
def test_the_service_moves_the_data_start_when_the_kind_changes(world: World):
    sla = factories.ServiceLevelFactory(
        contract=world.mine.contract, organization=world.org, period="weekly",
        data_start=date(2026, 10, 12),
    )  # fmt: skip
    assert _save(world, sla, period="monthly").data_start == date(2026, 10, 1)
    assert _save(world, sla, period="weekly").data_start == date(2026, 9, 28)


@pytest.mark.usefixtures("now")
def test_a_data_start_left_outside_a_changed_term_does_not_block_other_edits(world: World):
    with scopes_disabled():
        world.mine.contract.start_date = date(2026, 3, 1)  # the contract now starts later
        world.mine.contract.save()
    sla = _save(world, world.mine.sla, name="Renamed", data_start=date(2025, 1, 1))
    assert (sla.name, sla.data_start) == ("Renamed", date(2025, 1, 1))
    with pytest.raises(ValidationError):  # but a new one must lie inside the term
        _save(world, world.mine.sla, data_start=date(2026, 2, 1))


@pytest.mark.usefixtures("now")
def test_the_api_shows_the_data_start_and_the_schema_says_so(world: World):
    api = token_client(world.org, world.vic)
    response = api.get(
        reverse("api:sla-detail", kwargs={"org_slug": world.org.slug, "pk": world.mine.sla.pk})
    )
    assert response.json()["data_start"] == "2025-01-01"
    openapi = SchemaGenerator().get_schema(request=None, public=True)
    assert_conforms(openapi, "/slas/{id}/", "get", response)
    field = openapi["components"]["schemas"]["ServiceLevel"]["properties"]["data_start"]
    assert (field["type"], field["format"], field["readOnly"]) == ("string", "date", True)


@pytest.mark.usefixtures("now")
def test_the_sla_page_says_from_when_data_is_owed(client, world: World):
    client.force_login(world.vic)
    response = client.get(reverse("metrics:sla", args=[world.org.slug, world.mine.sla.pk]))
    assert "data owed from Jan 2025" in response.content.decode()
