"""Numbers as people read them: units, decimals by unit, grouping, plurals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metrics.headroom import headroom, headroom_words
from slagov import formatting


@pytest.mark.parametrize(
    ("value", "unit", "places", "text"),
    [
        (Decimal("5700.000000"), "count", None, "5,700"),
        (Decimal("5699.6"), "count", None, "5,700"),  # counts are whole numbers
        (Decimal("5700"), "count:tickets", None, "5,700 tickets"),  # a count names its noun
        (Decimal("1"), "count:tickets", None, "1 ticket"),
        (Decimal("1"), "count:breaches", None, "1 breach"),
        (Decimal("1"), "count:queries", None, "1 query"),
        (Decimal("0"), "count:parts", None, "0 parts"),
        (Decimal("99.200000"), "percent", None, "99.2 %"),
        (9.1234, "hours", 1, "9.1 h"),
        (Decimal("14"), "minutes", None, "14 min"),
        (Decimal("1"), "days", None, "1 day"),
        (Decimal("1.5"), "days", None, "1.5 days"),
        (Decimal("4.2"), "score", None, "4.2"),
        (Decimal("1E+1"), "percent", None, "10 %"),  # never an exponent
        (1e12, "count", None, "1,000,000,000,000"),
        (Decimal("-0.0001"), "hours", 2, "0.00 h"),  # never "-0"
        (None, "hours", None, "—"),
        ("NaN", "hours", None, "—"),
    ],
)
def test_values_read_with_their_unit(value, unit, places, text):
    assert formatting.with_unit(value, unit, places) == text


def test_forecasts_are_rounded_like_the_data():
    assert formatting.places_of(["23.9", "21.70", "15"], "hours") == 1
    assert formatting.places_of(["99.955", "99.9"], "percent") == 3
    assert formatting.places_of(["4210.5"], "count") == 0


def test_plurals_agree():
    assert formatting.plural(1, "open escalation") == "1 open escalation"
    assert formatting.plural(0, "open escalation") == "0 open escalations"
    assert formatting.plural(1200, "red SLA") == "1,200 red SLAs"


@pytest.mark.parametrize(
    ("kind", "rate", "bound", "unit", "direction", "text"),
    [
        ("relative", Decimal("5"), None, "hours", "lower", "\u22125 % a year"),
        ("absolute", Decimal("0.1"), Decimal("99.95"), "percent", "higher",
         "+0.1 points a year, up to 99.95 %"),
        ("absolute", Decimal("1"), Decimal("99"), "percent", "higher",
         "+1 point a year, up to 99 %"),
        ("absolute", Decimal("0.5"), Decimal("2"), "hours", "lower",
         "\u22120.5 h a year, down to 2 h"),
        ("none", Decimal("0"), None, "hours", "lower", "none"),
    ],
)  # fmt: skip
def test_the_improvement_clause_reads_the_same_everywhere(kind, rate, bound, unit, direction, text):
    assert formatting.improvement(kind, rate, bound, unit, direction) == text


def test_headroom_of_a_red_sla_says_how_far_past_it_is():
    room = headroom(value=Decimal("374"), target=Decimal("150"), minimum=Decimal("250"),
                    direction="lower")  # fmt: skip
    words = headroom_words(room, "count")
    assert words.yellow == "224 past the target (yellow)"
    assert words.red == "124 past the minimum (red)"
    room = headroom(value=Decimal("99.95"), target=Decimal("99.9"), minimum=Decimal("99.5"),
                    direction="higher")  # fmt: skip
    words = headroom_words(room, "percent")
    assert words.yellow == "0.05 % of room before yellow"
    assert words.red == "0.45 % of room before red"
    assert words.share == "13 % of the yellow band"


def test_headroom_wider_than_the_band_is_counted_in_bands_not_thousands_of_percent():
    # 610 tickets against a target of 900 and a minimum of 1,200: 290 of room, the band is 300.
    room = headroom(value=Decimal("310"), target=Decimal("900"), minimum=Decimal("1200"),
                    direction="lower")  # fmt: skip
    words = headroom_words(room, "count:tickets")
    assert words.yellow == "590 tickets of room before yellow"
    assert words.share == "2.0 times the yellow band"
    past = headroom(value=Decimal("950"), target=Decimal("900"), minimum=Decimal("1200"),
                    direction="lower")  # fmt: skip
    assert headroom_words(past, "count:tickets").share == ""  # past the target: no share
    just_over = headroom(value=Decimal("4.41"), target=Decimal("4"), minimum=Decimal("3.6"),
                         direction="higher")  # fmt: skip
    assert headroom_words(just_over, "score").share == "103 % of the yellow band"  # not "1.0 times"


def test_headroom_on_the_line_says_so_instead_of_zero_of_room():
    on = headroom(value=Decimal("10"), target=Decimal("10"), minimum=Decimal("25"),
                  direction="lower")  # fmt: skip
    words = headroom_words(on, "count:defects")
    assert words.yellow == "on the target: no room before yellow"
    assert words.share == ""
    assert words.red == "15 defects of room before red"


def test_a_date_shown_without_a_format_of_its_own_uses_the_house_style():
    from datetime import date, datetime

    from django.template import Context, Template
    from django.utils import timezone

    day = date(2025, 7, 1)
    moment = timezone.make_aware(datetime(2026, 12, 9, 14, 5))
    html = Template("{{ day }}|{{ moment }}").render(Context({"day": day, "moment": moment}))
    assert html == f"{formatting.day(day)}|{formatting.moment(moment)}"
    assert html == "1 Jul 2025|9 Dec 2026 14:05"
