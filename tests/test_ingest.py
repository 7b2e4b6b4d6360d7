"""Uploads: validated in one pass, previewed, applied all-or-nothing, idempotent, revisioned."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django_scopes import scopes_disabled

from metrics.ingest import pipeline
from metrics.models import Reading, Submission
from tests.ingest_world import TODAY, build

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]


def receive(w, text: str | bytes, name="readings.csv", actor=None):
    data = text.encode() if isinstance(text, str) else text
    submission = pipeline.submission_receive(
        organization=w.org,
        actor=actor or w.uploader,
        vendor=w.vendor,
        data=data,
        filename=name,
        enqueue=False,
    )
    if submission.state == Submission.State.RECEIVED:
        submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    return submission


def errors(submission):
    with scopes_disabled():
        return [(e.row_number, e.column, e.message) for e in submission.errors.all()]


def readings(w):
    with scopes_disabled():
        return {
            (r.service_level.code, r.period_start): r.value
            for r in Reading.objects.filter(organization=w.org).select_related("service_level")
        }


def test_valid_file_previews_then_applies(w):
    submission = receive(
        w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\nCORP-1,p1-res,2026-10,9\n"
    )
    assert submission.state == "ready"
    assert (submission.rows_new, submission.rows_changed) == (2, 0)
    with scopes_disabled():
        colours = dict(submission.rows.values_list("service_level__code", "colour"))
    assert colours == {"avail": "green", "p1-res": "red"}
    assert readings(w) == {}
    outcome = pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=submission
    )
    assert outcome.ok, outcome.message
    assert readings(w) == {
        ("avail", date(2026, 10, 1)): Decimal("99.95"),
        ("p1-res", date(2026, 10, 1)): Decimal("9"),
    }


def test_every_problem_is_reported_with_row_and_column(w):
    submission = receive(
        w,
        "contract,sla,period,value\n"
        "CORP-1,avail,2026-10,abc\n"  # row 2
        "OTHER-1,avail,2026-10,99\n"  # row 3
        "CORP-1,nope,2026-10,99\n"  # row 4
        "CORP-1,avail,2026-13,99\n"  # row 5
        "CORP-1,avail,2026-11,99\n"  # row 6
        "CORP-1,p1-res,2024-05,-1\n",  # row 7: two problems
    )
    assert submission.state == "invalid"
    found = errors(submission)
    assert (2, "value", "'abc' is not a number.") in found
    assert (3, "contract", "Unknown contract 'OTHER-1' for this vendor.") in found
    assert (4, "sla", "Unknown SLA 'nope' on contract 'CORP-1'.") in found
    assert any(r == 5 and c == "period" and "not a period" in m for r, c, m in found)
    assert any(r == 6 and "has not ended" in m for r, c, m in found)
    assert any(r == 7 and c == "period" and "outside the contract term" in m for r, c, m in found)
    assert any(r == 7 and c == "value" and "can't be negative" in m for r, c, m in found)
    assert submission.rows_with_errors == 6


def test_one_bad_row_in_a_thousand_stores_nothing_and_the_fix_stores_all(w):
    lines = ["contract,sla,period,value"]
    for week in range(1, 53):
        lines.append(f"CORP-1,backlog,2025-W{week:02d},{100 + week}")
    for year in (2025, 2026):
        for month in range(1, 13):
            if (year, month) <= (2026, 10):
                for code in ("avail", "p1-res", "csat"):
                    lines.append(
                        f"CORP-1,{code},{year}-{month:02d},{3 if code != 'avail' else 99.9}"
                    )
    lines.append("CORP-1,csat,2026-10,4.1")  # duplicate of the csat row above, other value
    bad = receive(w, "\n".join(lines) + "\n")
    assert bad.state == "invalid"
    assert readings(w) == {}
    fixed = receive(w, "\n".join(lines[:-1]) + "\n")
    assert fixed.state == "ready"
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=fixed)
    assert len(readings(w)) == len(lines) - 2


def test_identical_file_is_recognised_and_changes_nothing(w):
    text = "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n"
    first = receive(w, text)
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=first)
    again = receive(w, text)
    assert again.state == "duplicate"
    assert again.duplicate_of == first


def test_correction_needs_a_reason_and_keeps_the_old_value(w):
    first = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=first)
    second = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.4\n")
    assert (second.rows_changed, second.state) == (1, "ready")
    refused = pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=second)
    assert not refused.ok
    assert "reason" in refused.message
    ok = pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=second, reasons={2: "probe fixed"}
    )
    assert ok.ok
    with scopes_disabled():
        reading = Reading.objects.get(organization=w.org)
        revision = reading.revisions.get()
    assert (reading.value, reading.revision, reading.submission_id) == (
        Decimal("99.4"),
        2,
        second.pk,
    )
    assert (revision.value, revision.reason, revision.submission_id) == (
        Decimal("99.95"),
        "probe fixed",
        first.pk,
    )


def test_confirming_twice_applies_once(w):
    submission = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    assert pipeline.submission_confirm(
        organization=w.org, actor=w.uploader, submission=submission
    ).ok
    again = pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=submission)
    assert not again.ok
    assert "already applied" in again.message


def test_preview_that_went_stale_is_refused(w):
    a = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n")
    b = receive(w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.90\n")
    assert pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=a).ok
    stale = pipeline.submission_confirm(organization=w.org, actor=w.uploader, submission=b)
    assert not stale.ok
    assert "changed since this preview" in stale.message
    assert readings(w)[("avail", date(2026, 10, 1))] == Decimal("99.95")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_apply_once():
    import threading

    from django.db import connection

    w = build()
    submission = receive(
        w, "contract,sla,period,value\nCORP-1,avail,2026-10,99.95\nCORP-1,p1-res,2026-10,3\n"
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm():
        try:
            barrier.wait()
            outcomes.append(
                pipeline.submission_confirm(
                    organization=w.org, actor=w.uploader, submission=submission
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o.ok for o in outcomes) == [False, True]
    assert len(readings(w)) == 2
    with scopes_disabled():
        assert Reading.objects.filter(organization=w.org, revision=1).count() == 2


def test_a_file_that_had_errors_is_checked_again_when_resent(w):
    text = "contract,sla,period,value\nCORP-1,avail,2026-11,99.95\n"  # November: not over yet
    first = receive(w, text)
    assert first.state == "invalid"
    with time_machine.travel(date(2026, 12, 2), tick=False):
        again = pipeline.submission_validate(
            submission_id=pipeline.submission_receive(
                organization=w.org,
                actor=w.uploader,
                vendor=w.vendor,
                data=text.encode(),
                filename="readings.csv",
                enqueue=False,
            ).pk,
            today=date(2026, 12, 2),
        )
    assert again.state == "ready"  # not a "duplicate" of the file that had errors


def test_a_dot_groups_thousands_in_a_semicolon_file(w):
    submission = receive(
        w, "contract;sla;period;value\nCORP-1;p1-res;2026-10;1.200\nCORP-1;p1-res;2026-09;3\n"
    )
    assert submission.state == "ready", errors(submission)
    with scopes_disabled():
        assert sorted(submission.rows.values_list("value", flat=True)) == [3, 1200]


def test_a_value_the_files_decimal_mark_does_not_settle_is_refused(w):
    alone = receive(w, 'contract,sla,period,value\nCORP-1,p1-res,2026-10,"1,200"\n')
    with scopes_disabled():
        assert alone.rows.get().value == Decimal("1200")  # a comma file: a thousands comma
    mixed = receive(
        w,
        'contract,sla,period,value\nCORP-1,avail,2026-10,"99,95"\nCORP-1,p1-res,2026-10,"1,200"\n',
    )
    assert mixed.state == "invalid"
    assert errors(mixed) == [
        (3, "value", "'1,200' is ambiguous: 1.2 or 1200? This file doesn't settle whether its "
         "decimal mark is a point or a comma (its values use a decimal comma but its delimiter "
         "suggests a decimal point). Write it without a thousands separator.")
    ]  # fmt: skip
    tab = receive(w, "contract\tsla\tperiod\tvalue\nCORP-1\tp1-res\t2026-10\t1.200\n")
    assert [(r, c) for r, c, m in errors(tab) if "ambiguous" in m] == [(2, "value")]


def test_more_than_six_decimals_is_refused_not_rounded(w):
    submission = receive(
        w,
        "contract,sla,period,value\n"
        "CORP-1,avail,2026-10,99.9999995\n"
        "CORP-1,avail,2026-09,99.9999990\n"  # trailing zero: nothing is lost
        "CORP-1,p1-res,2026-10,0.0000001\n",
    )
    assert errors(submission) == [
        (2, "value", "'99.9999995' has more than 6 decimal places, the most a value keeps "
         "(rounded, it would be 100): round it in the file."),
        (4, "value", "'0.0000001' has more than 6 decimal places, the most a value keeps "
         "(rounded, it would be 0): round it in the file."),
    ]  # fmt: skip


def test_hostile_numbers_are_refused_and_minus_zero_is_zero(w):
    arabic, full_width = "\u0661\u0662\u0663", "\uff11\uff12\uff13"  # 123 in other digits
    hostile = ["1e400", "NaN", "inf", arabic, full_width, "+", ".", "9" * 60, "1 2", "0x10", "1_"]
    lines = [f"CORP-1,p1-res,2025-{m:02d},{v}" for m, v in enumerate(hostile, 1)]
    submission = receive(w, "contract,sla,period,value\n" + "\n".join(lines) + "\n")
    found = {r: m for r, _, m in errors(submission)}
    assert sorted(found) == list(range(2, 2 + len(hostile)))
    assert found[5] == "'١٢٣' is not a number. Write numbers with the digits 0 to 9."
    assert found[9] == "The value is too large: a value must be from 0 to under 1,000,000,000,000."
    zero = receive(w, "contract,sla,period,value\nCORP-1,p1-res,2026-10,-0\n")
    with scopes_disabled():
        assert str(zero.rows.get().value) == "0.000000"


def test_json_rows_with_a_nul_or_a_lone_surrogate_are_refused_not_a_server_error(w):
    import json

    body = json.dumps(
        {"rows": [
            {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1,
             "note": "a\x00b"},
            {"contract": "CORP-\ud800", "sla": "avail", "period": "2026-09", "value": 2},
            {"contract": "CORP-1", "sla": "avail\x00", "period": "2026-08", "value": 3},
        ]}
    )  # fmt: skip
    submission = receive(w, body.encode(), name="rows.json")
    assert submission.state == "invalid"
    assert [(r, c) for r, c, _ in errors(submission)] == [(1, "note"), (2, "contract"), (3, "sla")]


def test_json_numbers_are_the_numbers_they_spell(w):
    body = (
        b'{"rows": [{"contract": "CORP-1", "sla": "p1-res", "period": "2026-10", "value": 1.200}]}'
    )
    submission = receive(w, body, name="rows.json")
    with scopes_disabled():
        assert submission.rows.get().value == Decimal("1.2")
