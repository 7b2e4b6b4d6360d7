"""
The data start's pure rules (`contracts.periods`): the default an SLA gets when
it is added, the check of a data start given by hand, its move to a new
period kind; and the default as the migration and the model fill it in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import ServiceLevel
from tests import factories

MONTHLY, WEEKLY = periods.Period.MONTHLY, periods.Period.WEEKLY


@pytest.mark.parametrize(
    ("added_on", "kind", "owed_from"),
    [
        # Monthly: the month containing the day, unless the day is its last.
        (date(2026, 10, 15), MONTHLY, date(2026, 10, 1)),
        (date(2026, 10, 1), MONTHLY, date(2026, 10, 1)),
        (date(2026, 10, 30), MONTHLY, date(2026, 10, 1)),
        (date(2026, 10, 31), MONTHLY, date(2026, 11, 1)),
        (date(2026, 4, 30), MONTHLY, date(2026, 5, 1)),
        (date(2026, 2, 28), MONTHLY, date(2026, 3, 1)),  # not a leap year
        (date(2028, 2, 28), MONTHLY, date(2028, 2, 1)),  # a leap year: one day to go
        (date(2028, 2, 29), MONTHLY, date(2028, 3, 1)),
        (date(2026, 12, 30), MONTHLY, date(2026, 12, 1)),
        (date(2026, 12, 31), MONTHLY, date(2027, 1, 1)),  # into the next year
        # Weekly (ISO weeks, Monday to Sunday): the week containing the day, unless Sunday.
        (date(2026, 11, 25), WEEKLY, date(2026, 11, 23)),  # a Wednesday
        (date(2026, 11, 23), WEEKLY, date(2026, 11, 23)),  # a Monday
        (date(2026, 11, 28), WEEKLY, date(2026, 11, 23)),  # a Saturday
        (date(2026, 11, 29), WEEKLY, date(2026, 11, 30)),  # a Sunday: the week ends that day
        (date(2026, 12, 31), WEEKLY, date(2026, 12, 28)),  # 2026-W53, across the new year
        (date(2027, 1, 3), WEEKLY, date(2027, 1, 4)),  # the Sunday ending 2026-W53 → 2027-W01
        (date(2024, 12, 31), WEEKLY, date(2024, 12, 30)),  # 2025-W01 starts in 2024
        (date(2021, 1, 3), WEEKLY, date(2021, 1, 4)),  # the Sunday ending 2020-W53
    ],
)
def test_first_owed_period_is_the_first_period_that_ends_after_the_day(added_on, kind, owed_from):
    assert periods.first_owed_period(added_on, kind) == owed_from


def test_first_owed_period_labels_across_iso_year_boundaries():
    assert periods.period_label(periods.first_owed_period(date(2026, 12, 31), WEEKLY), WEEKLY) == (
        "2026-W53"
    )
    assert periods.period_label(periods.first_owed_period(date(2027, 1, 3), WEEKLY), WEEKLY) == (
        "2027-W01"
    )
    assert periods.period_label(periods.first_owed_period(date(2024, 12, 31), WEEKLY), WEEKLY) == (
        "2025-W01"
    )


def test_the_calendars_last_day_owes_its_own_period():
    assert periods.first_owed_period(date.max, MONTHLY) == date(9999, 12, 1)


@pytest.mark.parametrize(
    ("added_on", "kind", "contract_start", "owed_from"),
    [
        # A running contract: the past is not owed.
        (date(2026, 11, 25), MONTHLY, date(2026, 1, 1), date(2026, 11, 1)),
        (date(2026, 11, 25), WEEKLY, date(2026, 1, 1), date(2026, 11, 23)),
        (date(2026, 11, 30), MONTHLY, date(2026, 1, 1), date(2026, 12, 1)),
        # A contract starting in the future: owed from its first period.
        (date(2026, 11, 25), MONTHLY, date(2027, 3, 15), date(2027, 3, 1)),
        (date(2026, 11, 25), WEEKLY, date(2027, 3, 10), date(2027, 3, 8)),  # its Monday
        # A contract starting this very period: the same period either way.
        (date(2026, 11, 25), MONTHLY, date(2026, 11, 20), date(2026, 11, 1)),
        (date(2026, 11, 25), WEEKLY, date(2026, 11, 24), date(2026, 11, 23)),
        # A week containing the contract's first day but starting in the month before.
        (date(2026, 9, 1), WEEKLY, date(2026, 10, 1), date(2026, 9, 28)),
        # A contract from before the product's first day counts from that day.
        (date(1999, 6, 1), MONTHLY, date(1998, 1, 1), date(2000, 1, 1)),
    ],
)
def test_default_data_start_is_never_before_the_contracts_first_period(
    added_on, kind, contract_start, owed_from
):
    assert periods.default_data_start(added_on, kind, contract_start) == owed_from


def test_an_sla_added_to_a_finished_contract_owes_nothing_in_its_term():
    start = periods.default_data_start(date(2026, 11, 25), MONTHLY, date(2020, 1, 1))
    assert start == date(2026, 11, 1)  # after the term (say to 2025): no period owed


@pytest.mark.parametrize(
    ("start", "kind", "contract_start", "moved_to"),
    [
        (date(2026, 10, 1), WEEKLY, date(2026, 1, 1), date(2026, 9, 28)),  # the week containing it
        (date(2026, 10, 1), WEEKLY, date(2026, 10, 15), date(2026, 10, 12)),  # not before the term
        (date(2026, 10, 12), MONTHLY, date(2026, 1, 1), date(2026, 10, 1)),
        (date(2026, 12, 28), MONTHLY, date(2026, 1, 1), date(2026, 12, 1)),
        (date(2026, 11, 1), MONTHLY, date(2026, 1, 1), date(2026, 11, 1)),  # already one
    ],
)
def test_a_new_period_kind_moves_the_data_start_to_the_period_containing_it(
    start, kind, contract_start, moved_to
):
    assert periods.data_start_in_kind(start, kind, contract_start) == moved_to


TERM = {"contract_start": date(2026, 1, 15), "contract_end": date(2028, 12, 31)}


@pytest.mark.parametrize(
    ("start", "kind"),
    [
        (date(2026, 1, 1), MONTHLY),  # the month containing the contract's first day
        (date(2026, 11, 1), MONTHLY),
        (date(2028, 12, 1), MONTHLY),  # its last month
        (date(2026, 1, 12), WEEKLY),  # the week containing 15 Jan 2026
        (date(2028, 12, 25), WEEKLY),
    ],
)
def test_a_period_start_inside_the_term_is_a_data_start(start, kind):
    assert periods.data_start_problem(start, kind, **TERM) is None


def test_a_day_inside_a_period_is_refused_and_the_message_names_its_period():
    monthly = periods.data_start_problem(date(2026, 10, 15), MONTHLY, **TERM)
    assert monthly == (
        "Refused: 15 Oct 2026 is not the first day of a month. "
        "The month containing it, 2026-10, starts on 1 Oct 2026."
    )
    weekly = periods.data_start_problem(date(2026, 10, 14), WEEKLY, **TERM)
    assert weekly == (
        "Refused: 14 Oct 2026 is not the first day of a week. "
        "The week containing it, 2026-W42, starts on 12 Oct 2026."
    )


@pytest.mark.parametrize(
    ("start", "kind"),
    [
        (date(2025, 12, 1), MONTHLY),
        (date(2029, 1, 1), MONTHLY),
        (date(2026, 1, 5), WEEKLY),  # the week before the one containing 15 Jan
        (date(2029, 1, 1), WEEKLY),
    ],
)
def test_a_data_start_outside_the_term_is_refused(start, kind):
    problem = periods.data_start_problem(start, kind, **TERM)
    label = "from 2026-01 to 2028-12" if kind == MONTHLY else "from 2026-W03 to 2028-W52"
    assert problem == f"Data is owed from a period inside the contract term: {label}."


@pytest.mark.parametrize("start", [date(1999, 12, 1), date(3000, 1, 1), date(9999, 12, 1)])
def test_a_data_start_outside_the_years_the_product_knows_is_refused(start):
    problem = periods.data_start_problem(
        start, MONTHLY, contract_start=date(2000, 1, 1), contract_end=date.max
    )
    assert problem == "Data is owed from a period in the years 2000 to 2999."


# -- Every way in gets a data start -----------------------------------------


@pytest.mark.django_db
def test_an_sla_saved_without_a_data_start_gets_the_default():
    contract = factories.ContractFactory(start_date=date(2026, 1, 1), end_date=date(2028, 12, 31))
    with time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=False):
        monthly = factories.ServiceLevelFactory(contract=contract, data_start=None)
        weekly = factories.ServiceLevelFactory(contract=contract, period=WEEKLY, data_start=None)
    assert monthly.data_start == date(2026, 11, 1)
    assert weekly.data_start == date(2026, 11, 23)


@pytest.mark.django_db
def test_slas_built_in_bulk_get_the_default_unless_given():
    contract = factories.ContractFactory(start_date=date(2026, 1, 1), end_date=date(2028, 12, 31))
    org = contract.organization
    with time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=False), scopes_disabled():
        built = ServiceLevel.objects.bulk_create(
            [
                ServiceLevel(organization=org, contract=contract, code="a", name="A",
                             unit="percent", direction="higher"),
                ServiceLevel(organization=org, contract=contract, code="b", name="B",
                             unit="percent", direction="higher", data_start=date(2026, 1, 1)),
            ]
        )  # fmt: skip
        stored = dict(
            ServiceLevel.objects.filter(pk__in=[s.pk for s in built]).values_list(
                "code", "data_start"
            )
        )
    assert stored == {"a": date(2026, 11, 1), "b": date(2026, 1, 1)}


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_slas_the_default_from_the_day_they_were_added():
    before = ("contracts", "0003_measures_time")
    after = ("contracts", "0004_servicelevel_data_start")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        apps = executor.loader.project_state([before]).apps
        org = apps.get_model("slagov", "Organization").objects.create(name="m", slug="m")
        vendor = apps.get_model("contracts", "Vendor").objects.create(organization=org, name="v")
        contract_model = apps.get_model("contracts", "Contract")
        sla_model = apps.get_model("contracts", "ServiceLevel")

        def contract(reference, start):
            return contract_model.objects.create(
                organization=org, vendor=vendor, reference=reference, title="t",
                category="cloud", annual_value=1, start_date=start, end_date=date(2029, 1, 1),
            )  # fmt: skip

        running, future = contract("R", date(2026, 2, 15)), contract("F", date(2027, 3, 10))
        for code, on, period, added in [
            ("mid-month", running, MONTHLY, datetime(2026, 10, 14, 12, tzinfo=UTC)),
            ("month-end", running, MONTHLY, datetime(2026, 10, 31, 12, tzinfo=UTC)),
            ("with-contract", running, MONTHLY, datetime(2026, 2, 1, 12, tzinfo=UTC)),
            ("weekly-sunday", running, WEEKLY, datetime(2026, 11, 29, 12, tzinfo=UTC)),
            ("future", future, WEEKLY, datetime(2026, 10, 14, 12, tzinfo=UTC)),
        ]:
            sla = sla_model.objects.create(
                organization=org, contract=on, code=code, name=code, unit="percent",
                direction="higher", period=period,
            )  # fmt: skip
            sla_model.objects.filter(pk=sla.pk).update(created_at=added)
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        apps = executor.loader.project_state([after]).apps
        stored = dict(
            apps.get_model("contracts", "ServiceLevel").objects.values_list("code", "data_start")
        )
        assert stored == {
            "mid-month": date(2026, 10, 1),
            "month-end": date(2026, 11, 1),
            "with-contract": date(2026, 2, 1),  # not before the contract's first month
            "weekly-sunday": date(2026, 11, 30),
            "future": date(2027, 3, 8),  # the week containing the contract's first day
        }
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
