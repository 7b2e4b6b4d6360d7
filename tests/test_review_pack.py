"""
The review pack: a PDF with every section of a held review, the same bytes for
the same content (both sides sign its hash), hostile minutes escaped, nothing
fetched from anywhere, and a clear message where Pango is missing.

There is no PDF text extractor here (no pypdf, no pdftotext): the tests read the
HTML that goes into WeasyPrint, the text WeasyPrint laid out on the pages (its
own boxes), and the PDF's bytes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import zlib
from datetime import UTC, date, datetime

import pytest
from django_scopes import scopes_disabled

from reviews import pack, svgcharts
from reviews.models import ActionItem, AgendaItem, Review, ReviewAttendee, Side
from slagov import pdf as slagov_pdf
from tests import factories
from tests.test_deploy import ROOT, _env

HELD = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
          "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]  # fmt: skip


def _trend(values, target, minimum, direction="lower"):
    rows = []
    for month, value in zip(MONTHS, values, strict=False):
        if value is None:
            colour = "no_data"
        elif (value <= target) if direction == "lower" else (value >= target):
            colour = "green"
        elif (value <= minimum) if direction == "lower" else (value >= minimum):
            colour = "yellow"
        else:
            colour = "red"
        rows.append({"start": f"{month}-01", "value": value, "target": target,
                     "minimum": minimum, "colour": colour})  # fmt: skip
    return rows


def _sla(n: int) -> dict:
    if n % 2:
        return {
            "id": n, "code": f"avail{n}", "name": f"Service availability {n}", "unit": "percent",
            "direction": "higher", "period": "monthly",
            "rows": [{"period": "2026-10", "start": "2026-10-01", "value": "99.82",
                      "colour": "yellow", "target": "99.9", "minimum": "99.5"}],
            "trend": _trend([99.95, 99.93, 99.9, 99.91, 99.88, 99.7, 99.4, 99.85, 99.9, 99.92,
                             99.82, None], 99.9, 99.5, "higher"),
        }  # fmt: skip
    return {
        "id": n, "code": "mttr" if n == 0 else f"mttr{n}", "name": "Mean time to repair",
        "unit": "hours", "direction": "lower", "period": "monthly",
        "rows": [
            {"period": "2026-09", "start": "2026-09-01", "value": "19.4", "colour": "green",
             "target": "24", "minimum": "25"},
            {"period": "2026-10", "start": "2026-10-01", "value": "21.7", "colour": "green",
             "target": "24", "minimum": "25"},
        ],
        "trend": _trend([15.2, 15.8, 16.1, 17.0, 16.4, 18.2, 19.0, 24.6, 26.0, 19.4, 21.7, 22.3],
                        24.0, 25.0),
    }  # fmt: skip


DATA = {
    AgendaItem.Section.RISKS: {"rows": [
        {"sla": "mttr", "kind": "drifting", "text": "3 rises in a row, 6.1\u00d7 the usual change"},
        {"sla": "mttr", "kind": "forecast", "text": "Red in 2 months at this rate"},
        {"sla": "avail1", "kind": "warning", "text": "Parts shortage will slow repairs"},
    ]},
    AgendaItem.Section.ACTIONS: {"rows": [
        {"id": 3, "title": "Second parts supplier", "owner": "Vera Vance", "side": "vendor",
         "due": "2026-10-01", "state": "open", "overdue": True},
        {"id": 4, "title": "Spare van on standby", "owner": "Bob Baker", "side": "customer",
         "due": "2026-12-15", "state": "in_progress", "overdue": False},
    ]},
    AgendaItem.Section.IMPROVEMENT: {"rows": [
        {"sla": "avail1", "text": "On track for next year's tighter target",
         "this_year": {"target": "99.7", "minimum": "99.3"},
         "next_year": {"target": "99.8", "minimum": "99.4"}, "from": "2027-07"},
    ]},
    AgendaItem.Section.CREDITS: {
        "rows": [{"sla": "avail1", "period": "2026-10", "percent": "5", "amount": "1583.33"}],
        "total": "1583.33", "currency": "EUR",
    },
    AgendaItem.Section.TIMELINESS: {
        "rows": [{"sla": "mttr", "period": "2026-10", "deadline": "2026-11-05",
                  "submitted": "2026-11-09", "days_late": 4},
                 {"sla": "avail1", "period": "2026-10", "deadline": "2026-11-05",
                  "submitted": None, "days_late": 15}],
        "on_time": 40, "late": 1,
    },
}  # fmt: skip


def _review(slas: int = 2, *, minutes: str = "Agreed to watch the repair times.") -> Review:
    org = factories.OrganizationFactory(slug="northwind", name="Northwind")
    bob = factories.UserFactory(username="bob", first_name="Bob", last_name="Baker")
    vera = factories.UserFactory(username="vera", first_name="Vera", last_name="Vance")
    vendor = factories.VendorFactory(organization=org, name="FleetCo")
    contract = factories.ContractFactory(
        organization=org, vendor=vendor, owner=bob, reference="NW-FLT-001",
        title="Fleet maintenance", start_date=date(2025, 1, 1), end_date=date(2028, 12, 31),
    )  # fmt: skip
    factories.ServiceLevelFactory(
        organization=org, contract=contract, code="mttr", name="Mean time to repair",
        unit="hours", direction="lower",
    )  # fmt: skip
    with scopes_disabled():
        review = Review.objects.create(
            organization=org, contract=contract, scheduled_at=datetime(2026, 11, 20, 10, 0,
            tzinfo=UTC), duration_minutes=90, location="Room 4.12, Harbour House",
            covers_from=date(2026, 9, 1), state=Review.State.HELD, held_at=HELD,
            notes="Repair times are creeping up.", decisions="FleetCo adds a second supplier.",
        )  # fmt: skip
        for name, side, attended in (
            ("Bob Baker", Side.CUSTOMER, True), ("Lena Lund", Side.CUSTOMER, False),
            ("Vera Vance", Side.VENDOR, True),
        ):  # fmt: skip
            ReviewAttendee.objects.create(organization=org, review=review, name=name, side=side,
                                          attended=attended)  # fmt: skip
        items = [
            (AgendaItem.Section.PERFORMANCE, "Performance since the last review",
             {"slas": [_sla(n) for n in range(slas)]}),
            *((section, section.label, data) for section, data in DATA.items()),
            (AgendaItem.Section.TOPIC, "Winter tyres", {}),
        ]  # fmt: skip
        for position, (section, title, data) in enumerate(items):
            AgendaItem.objects.create(
                organization=org, review=review, section=section, position=position,
                title=title, data=data, minutes=minutes if position == 0 else "",
                details="Raised by FleetCo." if section == "topic" else "",
                side=Side.VENDOR if section == "topic" else "",
            )  # fmt: skip
        for title, owner, side, due in (
            ("Second parts supplier", vera, Side.VENDOR, date(2026, 12, 15)),
            ("Review the repair-time target", bob, Side.CUSTOMER, date(2027, 1, 31)),
        ):
            ActionItem.objects.create(
                organization=org, contract=contract, review=review, title=title, owner=owner,
                owner_side=side, due_date=due, created_by=bob, created_at=HELD,
            )  # fmt: skip
    return review


def _laid_out(html: str) -> tuple[str, int, int, str]:
    """
    From WeasyPrint's own layout: the text on the pages (in page order), the page
    count, the SVG charts drawn, and the text of the page headers and footers.
    """
    import weasyprint
    from weasyprint.formatting_structure import boxes

    document = weasyprint.HTML(
        string=html, base_url=None, url_fetcher=slagov_pdf.no_network_fetcher(weasyprint.urls)
    ).render()
    texts, margins, charts = [], [], 0
    for page in document.pages:
        for child in page._page_box.children:
            found = margins if isinstance(child, boxes.MarginBox) else texts
            for box in child.descendants():
                if isinstance(box, boxes.TextBox):
                    found.append(box.text)
                elif isinstance(box, boxes.ReplacedBox) and "SVG" in type(box.replacement).__name__:
                    charts += 1
    words = " ".join(" ".join(texts).split())
    return words, len(document.pages), charts, " ".join(" ".join(margins).split())


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (object streams hold the metadata)."""
    parts = [pdf]
    for stream in re.findall(rb"/FlateDecode[^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            parts.append(zlib.decompressobj().decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(parts)


@pytest.fixture
def refused(monkeypatch) -> list[str]:
    """Every URL WeasyPrint asks for (the pack refuses them all)."""
    asked: list[str] = []
    real = slagov_pdf.refuse_url

    def record(url):
        asked.append(url)
        return real(url)

    monkeypatch.setattr(slagov_pdf, "refuse_url", record)
    return asked


@pytest.mark.django_db
def test_a_pack_has_every_section_in_order_with_its_figures(refused):
    review = _review()
    html = pack.review_pack_html(review)
    text, pages, charts, margins = _laid_out(html)
    order = [
        "NW-FLT-001 Fleet maintenance", "The contract", "FleetCo", "The review",
        "Scheduled review",
        "Fri 20 Nov 2026, 10:00\u201311:30 (UTC); held 20 Nov 2026 11:30",
        "Room 4.12, Harbour House", "the periods from 1 Sep 2026 on", "Who attended",
        "Customer Bob Baker Lena Lund", "Vendor Vera Vance", "Findings",
        "Repair times are creeping up.", "Agenda",
        "1. Performance since the last review",
        "mttr — Mean time to repair", "Lower is better, hours, monthly",
        "2026-09 19.4 h Green 24 h 25 h", "2026-10 21.7 h Green 24 h 25 h",
        "avail1 — Service availability 1", "2026-10 99.82 % Yellow (at risk) 99.9 % 99.5 %",
        "Minutes. Agreed to watch the repair times.",
        "2. Upcoming risks", "mttr — Mean time to repair Drifting 3 rises in a row",
        "Forecast to breach Red in 2 months at this rate",
        "avail1 — Service availability 1 Vendor early warning Parts shortage",
        "3. Open and overdue action items",
        "Second parts supplier Vera Vance Vendor 1 Oct 2026 overdue Open",
        "Spare van on standby Bob Baker Customer 15 Dec 2026 In progress",
        "4. Improvement-clause progress", "On track for next year's tighter target",
        "99.7 % / 99.3 %", "99.8 % / 99.4 %", "2027-07",
        "5. Service credits (the backstop)", "2026-10 5 % 1,583.33 EUR", "Total 1,583.33 EUR",
        "6. Data timeliness", "40 periods on time, 1 late period.",
        "2026-10 5 Nov 2026 9 Nov 2026 4 days", "5 Nov 2026 not yet 15 days",
        "Topics raised by either side", "7. Winter tyres (raised by the vendor side)",
        "Raised by FleetCo.", "Minutes. None recorded.",
        "Decisions", "FleetCo adds a second supplier.",
        "Action items from this review",
        "Second parts supplier Vera Vance Vendor 15 Dec 2026 Open",
        "Review the repair-time target Bob Baker Customer 31 Jan 2027 Open",
    ]  # fmt: skip
    at = 0
    for words in order:
        found = text.find(words, at)
        assert found >= 0, f"{words!r} missing (or out of order) after: {text[at - 80 : at]!r}"
        at = found + len(words)
    assert "Apologies" in text
    assert text.count("Upcoming risks") == 1  # an item titled like its section: named once
    assert f"Page 1 of {pages}" in margins
    assert "Both sides sign the SHA-256 of this exact document in slagov." in margins
    assert "NW-FLT-001 Fleet maintenance" in margins  # the running header
    assert charts == 2  # one chart per SLA of the performance section
    assert pages >= 2
    pdf = pack.review_pack_pdf(review)
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 20_000
    objects = _pdf_objects(pdf)
    # The document's dates are the review's, never the time it was rendered.
    assert re.search(rb"/CreationDate \(D:20261120113000(Z|\+00'00)", objects), objects[-800:]
    assert re.search(rb"/ModDate \(D:20261120113000(Z|\+00'00)", objects)
    assert b"/Title (Review pack: NW-FLT-001 Fleet maintenance, 20 Nov 2026)" in objects
    assert re.search(rb"/FontName /[A-Z]{6}\+DejaVu-?Sans", objects)  # the system's font, embedded
    assert refused == []


@pytest.mark.django_db
def test_the_same_review_gives_the_same_bytes_and_a_change_changes_them():
    review = _review()
    first = pack.review_pack_pdf(review)
    time.sleep(1.1)  # a clock in the PDF would show now
    again = pack.review_pack_pdf(review)
    assert first == again
    assert pack.pack_sha256(first) == pack.pack_sha256(again)
    assert len(pack.pack_sha256(first)) == 64
    with scopes_disabled():
        AgendaItem.objects.filter(review=review, position=0).update(minutes="Agreed otherwise.")
    assert pack.review_pack_pdf(review) != first


@pytest.mark.django_db
def test_another_process_makes_the_same_bytes(tmp_path):
    """Two web workers (each with its own hash seed) give both signers the same pack."""
    review = _review()
    html = tmp_path / "pack.html"
    html.write_text(pack.review_pack_html(review))
    here = pack.review_pack_pdf(review)
    code = (
        "import sys, django; django.setup(); from reviews import pack;"
        "sys.stdout.write(pack.pack_sha256(pack.pdf_from_html(open(sys.argv[1]).read())))"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code, str(html)], cwd=ROOT, capture_output=True, text=True,
            env=_env(DJANGO_SETTINGS_MODULE="slagov.settings", PYTHONHASHSEED=seed),
            timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout == pack.pack_sha256(here)


@pytest.mark.django_db
def test_a_pack_before_the_review_is_held_is_dated_by_its_start():
    review = _review()
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(state=Review.State.PLANNED, held_at=None)
        ReviewAttendee.objects.filter(review=review).update(attended=None)
    html = pack.review_pack_html(review)
    assert '<meta name="dcterms.created" content="2026-11-20T10:00:00Z">' in html
    text, _, _, _ = _laid_out(html)
    assert "Customer — Not recorded: Bob Baker, Lena Lund" in text
    assert "held" not in text.split("Where")[0].split("When")[1]
    first = pack.review_pack_pdf(review)
    assert re.search(rb"/CreationDate \(D:20261120100000(Z|\+00'00)", _pdf_objects(first))


HOSTILE_MINUTES = (
    (
        '<script>alert(1)</script><img src="http://example.com/x.png">'
        '<link rel="stylesheet" href="https://example.com/s.css"><style>@import url(http://e.x/i.css)</style>'
        "</div></body></html> & &amp; \n"
        "עברית: הספק יוסיף ספק שני. العربية: سيضيف المورد موردا ثانيا. "
        "Emoji: 🚚🔧✅👩🏽‍🔧 — "
    )
    + "".join(f"{n:05d}word" for n in range(1000))
    + "x" * 3000
)  # no breaks


@pytest.mark.django_db
def test_hostile_minutes_are_escaped_and_fetch_nothing(refused):
    minutes = HOSTILE_MINUTES[:10_000]
    assert len(minutes) == 10_000
    review = _review(minutes=minutes)
    html = pack.review_pack_html(review)
    assert '<img src="http://example.com/x.png">' not in html
    assert "&lt;img src=&quot;http://example.com/x.png&quot;&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    pdf = pack.review_pack_pdf(review)
    assert pdf.startswith(b"%PDF-")
    assert refused == []  # nothing was even asked for
    text, pages, _, _ = _laid_out(html)
    assert '<img src="http://example.com/x.png">' in text  # shown as the text it is
    assert "הספק יוסיף" in text or "ףיסוי קפסה" in text
    # All of the minutes are on the pages, as text (lines break inside the long runs).
    assert "".join(minutes.split()) in "".join(text.split())
    assert "Decisions" in text  # the rest of the pack is still there after the minutes
    assert pages >= 3


def test_the_fetcher_refuses_every_url_even_in_markup_that_asks(refused):
    html = (
        '<html><head><link rel="stylesheet" href="http://example.com/s.css"></head><body>'
        '<img src="http://example.com/x.png"><img src="file:///etc/passwd">'
        '<p style="background: url(https://example.com/b.png)">hello</p></body></html>'
    )
    pdf = pack.pdf_from_html(html)
    assert pdf.startswith(b"%PDF-")
    assert sorted(refused) == ["file:///etc/passwd", "http://example.com/s.css",
                               "http://example.com/x.png", "https://example.com/b.png"]  # fmt: skip


@pytest.mark.django_db
def test_missing_figures_render_as_empty_sections():
    review = _review()
    with scopes_disabled():
        items = AgendaItem.objects.filter(review=review)
        items.filter(section="performance").update(data={"slas": [{"code": "x", "rows": "nope"}]})
        items.filter(section="risks").update(data={})
        items.filter(section="actions").update(data={"rows": None})
        items.filter(section="improvement").update(data={"rows": [{"sla": "avail"}, "junk"]})
        items.filter(section="credits").update(data={"rows": [{"amount": "NaN"}]})
        items.filter(section="timeliness").update(data=[1, 2])
        ActionItem.objects.filter(review=review).delete()
        Review.objects.filter(pk=review.pk).update(decisions="", notes="")
        ReviewAttendee.objects.filter(review=review).delete()
    text, _, charts, _ = _laid_out(pack.review_pack_html(review))
    for words in (
        "No history to chart.", "No periods since the last review.", "No upcoming risks.",
        "No open action items.", "No data deadlines in these periods.",
        "No decisions were recorded.", "No action items were created at this review.",
        "— / —",
    ):  # fmt: skip
        assert words in text, words
    assert charts == 0
    assert pack.review_pack_pdf(review).startswith(b"%PDF-")


def test_without_pango_the_pack_says_what_to_install(monkeypatch):
    def no_pango(name):
        raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open")

    monkeypatch.setattr(slagov_pdf, "import_module", no_pango)
    with pytest.raises(pack.PackUnavailable, match=r"apt-get install libpango-1\.0-0 libpangoft2"):
        pack.pdf_from_html("<p>x</p>")


def test_the_app_starts_without_importing_weasyprint():
    code = (
        "import sys, django; django.setup();"
        "import reviews.pack, reviews.views, reviews.mail_invitations, slagov.urls;"
        "assert 'weasyprint' not in sys.modules, 'imported at start-up'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(DJANGO_SETTINGS_MODULE="slagov.settings"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_chart_draws_bands_line_and_coloured_points():
    svg = svgcharts.trend_svg(
        _trend([15.2, 24.6, 26.0, None, 21.7, 22.3], 24.0, 25.0), unit="hours", direction="lower",
        title='mttr <"&">',
    )  # fmt: skip
    assert svg.startswith("<svg ")
    assert "<title>mttr &lt;&quot;&amp;&quot;&gt;</title>" in svg
    assert svg.count('fill="#2ea043" fill-opacity') == 1  # one green band (thresholds unchanged)
    assert svg.count("<circle") == 5  # the missing period has no point…
    assert svg.count("<polyline") == 2  # …and breaks the line
    assert svg.count('fill="#cf222e" stroke') == 1  # the red value
    assert svg.count('fill="#d4a72c" stroke') == 1  # the yellow one
    assert ">20 h<" in svg  # tick labels with units
    assert ">Dec 25<" in svg
    assert svgcharts.trend_svg([], unit="hours", direction="lower") == ""
    assert svgcharts.trend_svg([{"value": "NaN"}], unit="hours", direction="lower") == ""


def test_bands_step_where_the_thresholds_change():
    trend = _trend([99.95, 99.9, 99.92, 99.7], 99.9, 99.5, "higher")
    trend[2:] = [{**row, "target": 99.95, "minimum": 99.6} for row in trend[2:]]
    svg = svgcharts.trend_svg(trend, unit="percent", direction="higher")
    assert svg.count('fill="#2ea043" fill-opacity') == 2
    assert svg.count('fill="#cf222e" fill-opacity') == 2
    assert ">99.4 %<" in svg
    assert ">100.0 %<" in svg  # one precision for the whole axis


def test_nice_ticks_are_round_and_whole_for_counts():
    assert svgcharts.nice_ticks(0, 10) == [0, 2.5, 5, 7.5, 10]
    assert svgcharts.nice_ticks(0, 3, whole=True) == [0, 1, 2, 3]
    assert svgcharts.nice_ticks(99.35, 100.05) == [99.4, 99.6, 99.8, 100.0]


@pytest.mark.django_db
def test_a_twelve_sla_pack_renders(capsys):
    review = _review(slas=12)
    started = time.perf_counter()
    pdf = pack.review_pack_pdf(review)
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n12-SLA review pack: {took:.2f} s, {len(pdf) / 1024:.0f} KB")
    assert pdf.startswith(b"%PDF-")
