"""
Every file of the upload corpus (tests/corpus) gives its expected outcome:
the right values stored, or a rejection whose errors name row and column.
Never a server error, never a partial write.
"""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from metrics.ingest import files, pipeline
from metrics.models import Reading, Submission
from tests.ingest_world import TODAY, build

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]


def _submit(w, data: bytes, name: str) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org,
        actor=w.uploader,
        vendor=w.vendor,
        data=data,
        filename=name,
        enqueue=False,
    )
    submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    if submission.state == Submission.State.READY and submission.can_confirm:
        outcome = pipeline.submission_confirm(
            organization=w.org, actor=w.uploader, submission=submission
        )
        assert outcome.ok, outcome.message
        submission.refresh_from_db()
    return submission


def _stored(w) -> list[tuple[str, str, str, Decimal]]:
    with scopes_disabled():
        return sorted(
            (
                r.service_level.contract.reference,
                r.service_level.code,
                r.period_start.isoformat(),
                r.value,
            )
            for r in Reading.objects.filter(organization=w.org).select_related(
                "service_level__contract"
            )
        )


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=str)
def test_corpus_file(name):
    w = build()
    expected = EXPECTED[name]
    submission = _submit(w, (CORPUS / "files" / name).read_bytes(), name)
    with scopes_disabled():
        found = [(e.row_number, e.column, e.message) for e in submission.errors.all()]
    if expected["outcome"] == "ok":
        assert submission.state == Submission.State.APPLIED, found
        assert submission.rows_total == expected["rows"]
        want = sorted((c, s, p, Decimal(v)) for c, s, p, v in expected["readings"])
        assert _stored(w) == want
        for fragment in expected.get("warnings", []):
            assert any(fragment.lower() in w_.lower() for w_ in submission.warnings), fragment
        return
    assert submission.state == Submission.State.INVALID, submission.state
    assert _stored(w) == []  # nothing written, ever, from a rejected file
    for error in expected["errors"]:
        matches = [
            message
            for row, column, message in found
            if row == error["row"]
            and column == (error["column"] or "")
            and error["contains"].lower() in message.lower()
        ]
        assert matches, f"expected {error} among {found}"


def test_file_over_ten_megabytes_is_refused_with_the_limit():
    w = build()
    data = b"contract,sla,period,value,note\n" + b"CORP-1,avail,2026-10,99.9,x\n" * 400_000
    submission = _submit(w, data, "big.csv")
    with scopes_disabled():
        message = submission.errors.get().message
    assert "the limit is 10 MB" in message
    assert _stored(w) == []


def test_more_than_100000_rows_is_refused():
    w = build()
    data = b"contract,sla,period,value\n" + b"CORP-1,avail,2026-10,1\n" * 100_001
    submission = _submit(w, data, "many.csv")
    with scopes_disabled():
        assert "at most 100,000" in submission.errors.get().message


def test_xlsx_with_too_many_parts_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(files.XLSX_MAX_ENTRIES):
            archive.writestr(f"xl/media/{i}.bin", b"")
    with pytest.raises(files.UnreadableFileError, match="parts"):
        files.read_table(buffer.getvalue(), "parts.xlsx")
