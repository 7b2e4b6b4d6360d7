"""
What a screen reader relies on in the served HTML, checked without a browser:
every `aria-describedby` names an element of the page (help text, errors), and
headings go down one level at a time. axe in Chromium checks the rest
(tests/test_browser_a11y.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from reviews.models import Review
from tests.conftest import World


class Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[str] = []
        self.headings: list[int] = []
        self.skip_to: str | None = None  # where the page's first link goes

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        self.described_by += (values.get("aria-describedby") or "").split()
        if tag == "a" and self.skip_to is None:
            self.skip_to = values.get("href")
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))


def outline(response) -> Outline:
    assert response.status_code in (200, 400), response.status_code
    parsed = Outline()
    parsed.feed(response.content.decode())
    return parsed


def assert_readable(response) -> None:
    page = outline(response)
    missing = [ref for ref in page.described_by if ref not in page.ids]
    assert not missing, f"aria-describedby names no element: {missing}"
    skips = [
        (before, after)
        for before, after in zip(page.headings, page.headings[1:], strict=False)
        if after > before + 1
    ]
    assert page.headings[:1] == [1], page.headings
    assert not skips, f"heading levels skip: {skips} in {page.headings}"


@pytest.fixture
def planned_review(world: World):
    with scopes_disabled():
        return Review.objects.create(
            organization=world.org, contract=world.mine.contract, state=Review.State.PLANNED,
            scheduled_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        )  # fmt: skip


def test_main_pages_skip_to_content_have_one_h1_and_headings_that_go_down_one_at_a_time(
    client, world: World
):
    org, mine = world.org.slug, world.mine
    urls = [
        reverse("contracts:portfolio", args=[org]),
        reverse("contracts:contract", args=[org, mine.contract.pk]),
        reverse("contracts:vendor", args=[org, mine.vendor.pk]),
        reverse("metrics:sla", args=[org, mine.sla.pk]),
        reverse("metrics:submissions", args=[org]),
        reverse("metrics:submission", args=[org, mine.submission.pk]),
        reverse("escalations:list", args=[org]),
        reverse("escalations:detail", args=[org, mine.escalation.pk]),
        reverse("reviews:calendar", args=[org]),
        reverse("reviews:detail", args=[org, mine.review.pk]),
        reverse("reviews:my_actions", args=[org]),
        reverse("reviews:action", args=[org, mine.action_item.pk]),
        reverse("reviews:warnings", args=[org]),
        reverse("reviews:warning", args=[org, mine.warning.pk]),
        reverse("tokens", args=[org]),
    ]
    customer_only = [
        reverse("escalations:leadership", args=[org]),
        reverse("escalations:policy", args=[org]),
    ]
    for user in (world.bob, world.lena, world.vic):
        client.force_login(user)
        for url in urls + ([] if user is world.vic else customer_only):
            response = client.get(url)
            page = outline(response)
            assert page.headings.count(1) == 1, url
            assert page.skip_to == "#main", url
            assert "main" in page.ids, url
            assert_readable(response)


def test_form_pages_describe_fields_with_elements_that_exist(client, world: World, planned_review):
    org, mine = world.org.slug, world.mine
    client.force_login(world.alice)
    urls = [
        reverse("contracts:contract_create", args=[org]),
        reverse("contracts:contract_edit", args=[org, mine.contract.pk]),
        reverse("contracts:sla_create", args=[org, mine.contract.pk]),
        reverse("contracts:sla_edit", args=[org, mine.sla.pk]),
        reverse("contracts:terms_create", args=[org, mine.sla.pk]),
        reverse("contracts:vendor_create", args=[org]),
        reverse("contracts:vendor_edit", args=[org, mine.vendor.pk]),
        reverse("contracts:contact_create", args=[org, mine.vendor.pk]),
        reverse("metrics:reading_create", args=[org, mine.sla.pk]),
        reverse("metrics:submissions", args=[org]),
        reverse("preferences", args=[org]),
        reverse("tokens", args=[org]),
        reverse("escalations:policy", args=[org]),
        reverse("escalations:contract_policy", args=[org, mine.contract.pk]),
        reverse("escalations:detail", args=[org, mine.escalation.pk]),
        reverse("reviews:detail", args=[org, planned_review.pk]),
        reverse("reviews:hold", args=[org, planned_review.pk]),
        reverse("reviews:plan", args=[org, mine.contract.pk]),
        reverse("reviews:action_create", args=[org, mine.contract.pk]),
        reverse("reviews:action", args=[org, mine.action_item.pk]),
        reverse("reviews:action_edit", args=[org, mine.action_item.pk]),
        reverse("reviews:warning", args=[org, mine.warning.pk]),
    ]
    for url in urls:
        assert_readable(client.get(url))


def test_forms_sent_back_with_errors_describe_fields_with_their_errors(
    client, world: World, planned_review
):
    org, mine = world.org.slug, world.mine
    client.force_login(world.alice)
    posts = {
        reverse("contracts:contract_create", args=[org]): {"reference": ""},
        reverse("contracts:sla_create", args=[org, mine.contract.pk]): {"tiers-TOTAL_FORMS": "0",
                                                                       "tiers-INITIAL_FORMS": "0"},
        reverse("contracts:terms_create", args=[org, mine.sla.pk]): {"target": "abc"},
        reverse("tokens", args=[org]): {"name": ""},
        reverse("escalations:resolve", args=[org, mine.escalation.pk]): {"note": ""},
        reverse("reviews:hold", args=[org, planned_review.pk]): {
            "held_at": "soon", "actions-TOTAL_FORMS": "1", "actions-INITIAL_FORMS": "0",
            "actions-0-title": "Send the plan",
        },
        reverse("escalations:policy", args=[org]): {
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-0-condition": "state",
            "steps-0-level": "x",
        },
    }  # fmt: skip
    for url, data in posts.items():
        response = client.post(url, data)
        page = outline(response)
        assert any(ref.endswith("_error") for ref in page.described_by), url
        assert_readable(response)


def test_every_chart_has_a_table_of_the_values_it_draws(client, world: World):
    org, mine = world.org.slug, world.mine
    client.force_login(world.bob)
    for url in (
        reverse("contracts:contract", args=[org, mine.contract.pk]),
        reverse("metrics:sla", args=[org, mine.sla.pk]),
    ):
        html = client.get(url).content.decode()
        assert html.count("data-figure=") == html.count('<details class="chart-values">') == 1
        values = html.split('<details class="chart-values">')[1].split("</details>")[0]
        assert '<th scope="row">Jan 2026</th><td>99.95 %</td><td>Green</td>' in values


def test_chart_table_says_unusual_values_and_the_forecast_with_its_band():
    from datetime import date
    from decimal import Decimal

    from contracts.models import ServiceLevel
    from metrics.charts import figure_table
    from metrics.models import PeriodStatus

    sla = ServiceLevel(code="mttr", name="Mean time to repair", unit="hours", period="monthly")
    statuses = [
        PeriodStatus(period_start=date(2026, month, 1), value=Decimal(value), colour=colour,
                     target=Decimal(4), minimum=Decimal(8))
        for month, value, colour in ((1, "3.5", "green"), (2, "9.25", "red"))
    ]  # fmt: skip
    forecast = [{"period": "2026-03-01", "value": 9.61, "low": 8.04, "high": 11.2}]
    rows = figure_table(sla, statuses, forecast=forecast, anomalies=[None, "worse"])
    assert [(r["period"], r["value"], r["state"]) for r in rows] == [
        ("Jan 2026", "3.5 h", "Green"),
        ("Feb 2026", "9.25 h", "Red (breach), unusual"),
        ("Mar 2026", "9.61 h", "Forecast, 80 % band 8.04 h to 11.20 h"),
    ]
    assert (rows[0]["target"], rows[0]["minimum"]) == ("4 h", "8 h")
