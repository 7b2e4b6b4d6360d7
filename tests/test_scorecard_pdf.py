"""
The scorecard PDF of a vendor or a contract for a span of months: the months
asked for (one rule, exact cases), what the document says (its HTML context and
the text WeasyPrint lays out on the pages), bad periods answered 400 naming the
parameter, and the same scoping as the pages.
"""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract
from contracts.month_spans import MonthSpan, SpanError, last_closed_quarter, month_span
from reviews.health_data import health_histories
from slagov import scorecard_pdf
from slagov.tenancy import tenant_scope
from tests.conftest import World
from tests.scorecard_world import NOW, TODAY, build_history
from tests.test_review_pack import _laid_out


@pytest.fixture
def at_today():
    with time_machine.travel(NOW, tick=False):
        yield


# --- The months asked for ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2026, 5, 15), date(2026, 1, 1), date(2026, 3, 1)),
        (date(2026, 4, 1), date(2026, 1, 1), date(2026, 3, 1)),  # the quarter's first day
        (date(2026, 3, 31), date(2025, 10, 1), date(2025, 12, 1)),  # not over yet
        (date(2026, 1, 1), date(2025, 10, 1), date(2025, 12, 1)),  # across the year
        (date(2026, 12, 31), date(2026, 7, 1), date(2026, 9, 1)),
    ],
)
def test_the_default_is_the_last_closed_quarter(today, first, last):
    assert last_closed_quarter(today) == MonthSpan(first, last)
    assert month_span(None, None, today=today) == MonthSpan(first, last)
    assert month_span("", "  ", today=today) == MonthSpan(first, last)


@pytest.mark.parametrize(
    ("given", "first", "last"),
    [
        (("2026-01", "2026-04"), date(2026, 1, 1), date(2026, 4, 1)),
        ((" 2026-02 ", "2026-2"), date(2026, 2, 1), date(2026, 2, 1)),  # one month
        (("2026-01-31", "2026-03-15"), date(2026, 1, 1), date(2026, 3, 1)),  # days inside
        (("2023-06", "2026-05"), date(2023, 6, 1), date(2026, 5, 1)),  # 36 months, to this one
    ],
)
def test_months_are_read_as_people_write_them(given, first, last):
    span = month_span(*given, today=TODAY)
    assert (span.first, span.last) == (first, last)


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        (("2026-03", "2026-01"), "from", "2026-03 is after to (2026-01)"),
        (("2026-13", "2026-03"), "from", "a year has no month 13"),
        (("2026-01", "2026-00"), "to", "a year has no month 0"),
        (("0000-01", "2026-03"), "from", "the year must be from 2000 to 2999"),
        (("2023-05", "2026-05"), "to", "is 37 months; at most 36"),
        (("last quarter", "2026-03"), "from", "is not a period"),
        (("2026-01", "2026-W10"), "to", "is a week, not a month"),
        (("2026-01", "2026-06"), "to", "2026-06 has not begun yet"),
        (("2026-01", ""), "to", "give the last month too"),
        ((None, "2026-03"), "from", "give the first month too"),
        (("9" * 5000, "2026-03"), "from", "is not a month"),
        (("2026-02-30", "2026-03"), "from", "is not a period"),  # no such day
        (("2026-01", "\u0662\u0660\u0662\u0666-03"), "to", "is not a period"),  # not ASCII
        (("2026-01", "3000-01"), "to", "the year must be from 2000 to 2999"),
    ],
)
def test_a_bad_span_names_the_parameter(given, field, words):
    with pytest.raises(SpanError) as caught:
        month_span(*given, today=TODAY)
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")
    assert len(str(caught.value)) < 200  # never the whole of what was sent


def test_a_span_knows_its_months_and_its_exclusive_end():
    span = MonthSpan(date(2025, 11, 1), date(2026, 2, 1))
    assert span.months == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1),
                           date(2026, 2, 1)]  # fmt: skip
    assert span.end == date(2026, 3, 1)
    assert span.label == "Nov 2025 to Feb 2026"
    assert span.query == "from=2025-11&to=2026-02"
    assert date(2026, 2, 28) in span
    assert date(2026, 3, 1) not in span


# --- What the scorecard says ---------------------------------------------------------------


def _context(world: World, span: MonthSpan) -> dict:
    with tenant_scope(world.org):
        contracts = list(
            Contract.objects.filter(vendor=world.mine.vendor).select_related(
                "vendor", "owner", "organization"
            )
        )
        return scorecard_pdf.scorecard_context(
            title="Vendor Mine: vendor scorecard", subject="Vendor Mine", contracts=contracts,
            span=span, today=TODAY, vendor=world.mine.vendor,
        )  # fmt: skip


@pytest.mark.django_db
def test_the_scorecard_holds_each_slas_statuses_in_words_for_the_span(world, at_today):
    kpi = build_history(world)
    context = _context(world, MonthSpan(date(2026, 2, 1), date(2026, 4, 1)))
    (entry,) = context["contracts"]
    assert entry["contract"] == world.mine.contract
    by_code = {s["sla"].code: s for s in entry["slas"]}
    assert [(r["period"], r["value"], r["status"]) for r in by_code["avail"]["rows"]] == [
        ("Feb 2026", "99.7 %", "Yellow (at risk)"),
        ("Mar 2026", "99.2 %", "Red (breach)"),
        ("Apr 2026", "99.95 %", "Green"),
    ]
    assert [(c, n) for c, _, n in by_code["avail"]["counts"]] == [("red", 1), ("yellow", 1),
                                                                  ("green", 1)]  # fmt: skip
    assert [(r["period"], r["status"]) for r in by_code[kpi.code]["rows"]] == [
        ("Feb 2026", "Yellow (at risk)"), ("Mar 2026", "Yellow (at risk)"),
        ("Apr 2026", "Red (breach)"),
    ]  # fmt: skip
    assert by_code["avail"]["chart"].startswith("<svg")
    assert [(line.month, line.entry.credited) for line in context["credit_lines"]] == [
        (date(2026, 2, 1), 1000), (date(2026, 3, 1), 1000),
    ]  # fmt: skip
    assert context["credit_totals"] == [("EUR", 2000)]
    assert [w.pk for w in context["warnings"]] == [world.mine.warning.pk]
    assert [i.pk for i in context["action_items"]] == [world.mine.action_item.pk]
    with scopes_disabled():
        loaded = Contract.objects.select_related("organization", "owner").get(
            pk=world.mine.contract.pk
        )
        health = health_histories([loaded], today=TODAY)[loaded.pk]
    assert context["health_known"] is True
    assert entry["health"].current == health.current  # as the one rule judges it


@pytest.mark.django_db
def test_escalations_count_when_opened_or_resolved_in_the_span(world, at_today):
    from django.utils import timezone

    from escalations.models import Escalation

    build_history(world)
    with scopes_disabled():
        Escalation.objects.filter(pk=world.mine.escalation.pk).update(
            opened_at=timezone.make_aware(timezone.datetime(2026, 1, 20, 8, 0)),
            state=Escalation.State.RESOLVED,
            resolved_at=timezone.make_aware(timezone.datetime(2026, 2, 3, 8, 0)),
            resolution=Escalation.Resolution.BACK_TO_GREEN,
        )
    february = _context(world, MonthSpan(date(2026, 2, 1), date(2026, 2, 1)))
    (row,) = february["escalations"]
    assert (row["escalation"].pk, row["opened_in_span"], row["resolved_in_span"]) == (
        world.mine.escalation.pk, False, True,
    )  # fmt: skip
    assert _context(world, MonthSpan(date(2026, 3, 1), date(2026, 4, 1)))["escalations"] == []


@pytest.mark.django_db
def test_the_pdf_lays_out_the_contract_and_the_periods_statuses_as_text(world, at_today):
    build_history(world)
    context = _context(world, MonthSpan(date(2026, 2, 1), date(2026, 4, 1)))
    words, _pages, charts, margins = _laid_out(scorecard_pdf.scorecard_html(context))
    ref = world.mine.contract.reference
    for expected in (
        "Vendor Mine: vendor scorecard",
        f"{ref} {world.mine.contract.title}",
        "Feb 2026 99.7 % Yellow (at risk) 99.9 % 99.5 %",
        "Mar 2026 99.2 % Red (breach) 99.9 % 99.5 %",
        "Apr 2026 99.95 % Green 99.9 % 99.5 %",
        "Total credited: 2,000 EUR",
        "Parts shortage",
        "yes: red Mar 2026, 1 month ahead",
        "Find a second parts supplier",
    ):
        assert expected in words, expected
    assert charts == 2  # the SLA's and the KPI's
    assert "Page 1 of" in margins
    assert "Feb 2026 to Apr 2026" in margins
    assert scorecard_pdf.scorecard_pdf(context).startswith(b"%PDF-")


# --- Over HTTP ------------------------------------------------------------------------------


def _pdf_url(world: World, what: str = "vendor", side: str = "mine") -> str:
    obj = getattr(world, side)
    if what == "vendor":
        return reverse("contracts:vendor_scorecard", args=[world.org.slug, obj.vendor.pk])
    return reverse("contracts:contract_scorecard", args=[world.org.slug, obj.contract.pk])


@pytest.mark.django_db
def test_the_vendor_scorecard_is_a_pdf_of_the_last_closed_quarter_by_default(
    client, world, at_today
):
    client.force_login(world.bob)
    response = client.get(_pdf_url(world))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response["Content-Disposition"] == (
        'attachment; filename="scorecard-Vendor-Mine-2026-01-2026-03.pdf"'
    )


@pytest.mark.django_db
def test_the_contract_scorecard_is_a_pdf_of_the_months_asked_for(client, world, at_today):
    client.force_login(world.vic)  # the vendor's own user
    response = client.get(_pdf_url(world, "contract"), {"from": "2025-11", "to": "2026-02"})
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    ref = world.mine.contract.reference
    assert response["Content-Disposition"].endswith(f'"scorecard-{ref}-2025-11-2026-02.pdf"')


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["vendor", "contract"])
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-03", "to": "2026-01"}, "from: 2026-03 is after to (2026-01)."),
        ({"from": "2026-13", "to": "2026-03"}, "from: '2026-13' is not a period: a year has"),
        ({"from": "0000-01", "to": "2026-03"}, "from: '0000-01' is not a period: the year"),
        ({"from": "2023-01", "to": "2026-03"}, "to: 2023-01 to 2026-03 is 39 months; at"),
        ({"from": "<b>soon</b>", "to": "2026-03"}, "from: '<b>soon</b>' is not a period"),
        ({"from": "2026-01"}, "to: give the last month too"),
    ],
)
def test_a_bad_period_is_a_400_naming_the_parameter(client, world, at_today, what, query,
                                                    message):  # fmt: skip
    client.force_login(world.bob)
    response = client.get(_pdf_url(world, what), query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(message)


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["vendor", "contract"])
@pytest.mark.parametrize(
    ("persona", "side", "status"),
    [
        ("bob", "mine", 200),
        ("vic", "mine", 200),
        ("vic", "theirs", 404),  # another vendor of the same tenant
        ("olly", "mine", 404),
        ("charlie", "mine", 404),  # another tenant
    ],
)
def test_the_scorecard_pdfs_are_scoped_like_the_pages(client, world, at_today, what, persona,
                                                      side, status):  # fmt: skip
    client.force_login(getattr(world, persona))
    assert client.get(_pdf_url(world, what, side)).status_code == status
    # An outsider learns nothing from a bad period either: still 404, not 400.
    bad = client.get(_pdf_url(world, what, side), {"from": "2026-13", "to": "x"})
    assert bad.status_code == (400 if status == 200 else 404)


@pytest.mark.django_db
def test_the_contract_page_links_its_scorecard_with_a_form_for_the_months(client, world,
                                                                          at_today):  # fmt: skip
    client.force_login(world.vic)
    html = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    ).content.decode()
    url = _pdf_url(world, "contract")
    assert f'href="{url}?from=2026-01&amp;to=2026-03"' in html
    assert f'action="{url}"' in html
    assert 'name="from" value="2026-01"' in html
    assert 'name="to" value="2026-03"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("contracts", [1, 4])
def test_the_vendor_scorecard_pdf_costs_the_same_queries_whatever_the_contracts(
    client, world, at_today, contracts, django_assert_num_queries
):
    from tests.test_vendor_scorecard import _fill

    _fill(world, contracts, 3)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 the vendor, 5 its contracts, 6 their SLAs,
    # 7 the span's statuses, 8 credits, 9-16 governance health (reviews, action items,
    # escalations, vendor warnings, SLAs, relevance checks, readings' arrival, owners still
    # here), 17 action items open in the span, 18 vendor warnings open in it,
    # 19 escalations opened or resolved in it
    with django_assert_num_queries(19):
        response = client.get(_pdf_url(world), {"from": "2026-01", "to": "2026-04"})
    assert response.status_code == 200
