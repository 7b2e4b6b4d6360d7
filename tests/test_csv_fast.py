"""
The columnar CSV reader (pandas' C parser) reads every file it takes exactly as the
reference reader (the csv module, a row at a time) does: same table, row numbers,
problems, warnings, refusals. Files with quotes or a NUL are left to the reference.
"""

from __future__ import annotations

import codecs
import random
from pathlib import Path
from unittest import mock

import pytest

from metrics.ingest import csv_fast, files

CORPUS = Path(__file__).parent / "corpus" / "files"


def _outcome(data: bytes, name: str = "upload.csv"):
    try:
        table = files.read_table(data, name)
    except files.UnreadableFileError as exc:
        return ("refused", exc.message)
    frame = table.frame
    return (
        frame.to_dict("list"),
        [str(t) for t in frame.dtypes],
        frame.attrs,
        [(p.row, p.column, p.value, p.message, p.sla_id) for p in table.problems],
        table.warnings,
        table.data_rows,
    )


def _reference(data: bytes, name: str = "upload.csv"):
    with mock.patch.object(csv_fast, "read", return_value=None):
        return _outcome(data, name)


def _taken_fast(data: bytes) -> bool:
    try:
        return csv_fast.read(*files._csv_text(data)) is not None
    except files.UnreadableFileError:
        return True


def test_every_csv_of_the_corpus_reads_as_the_reference_reads_it():
    paths = sorted(p for p in CORPUS.iterdir() if p.suffix in files.CSV_EXTENSIONS)
    taken = 0
    for path in paths:
        data = path.read_bytes()
        assert _outcome(data, path.name) == _reference(data, path.name), path.name
        taken += data != b"" and _taken_fast(data)
    assert taken >= len(paths) // 2  # most files are read by the columnar reader


HEADERS = ["contract", "sla", "period", "value", "note", " Value ", "NOTE", "stored_value",
           "extra", "", "contract", "İd"]  # fmt: skip
CELLS = ["CORP-1", "avail", "2026-10", "99.9", "99,9", "", " ", "  x ", "=1+1", "@sum", "-3",
         "1 234,5", "\u00a0", "\u2028", "\x1c", "\x85", "é", "ß", "İ", "contract", "sla",
         "period", "value", "1e400", "0.0000001", "NaN", "2026-02-30", "\ufeff"]  # fmt: skip
ENDINGS = ["\n", "\r\n", "\r", "\n\n", "\r\r\n", "\n \n", "\n,,,\n"]


def _random_file(rng: random.Random) -> bytes:
    delimiter = rng.choice([",", ";", "\t"])
    width = rng.randint(1, 7)
    if rng.random() < 0.7:
        header = ["contract", "sla", "period", "value", "note"][: max(width, 4)]
        rng.shuffle(header)
    else:
        header = [rng.choice(HEADERS) for _ in range(width)]
    lines = [delimiter.join(header)]
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.05:
            lines.append(delimiter.join(header))  # the header again
            continue
        fields = max(0, len(header) + rng.choice([0, 0, 0, -1, 1, 2]))
        lines.append(delimiter.join(rng.choice(CELLS) for _ in range(fields)))
    text = "".join(line + rng.choice(ENDINGS) for line in lines)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")  # no line ending after the last row
    if rng.random() < 0.2:
        text = rng.choice(ENDINGS) + text  # blank rows before the header
    if rng.random() < 0.1:
        text = f"sep={delimiter}\n" + text
    if rng.random() < 0.1:
        text = text.replace("CORP-1", 'CORP"1', 1)  # a quote: the reference reads it
    encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "cp1252"])
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return codecs.BOM_UTF8 + text.encode("utf-8")


@pytest.mark.parametrize("seed", range(2))
def test_random_and_hostile_files_read_as_the_reference_reads_them(seed):
    rng = random.Random(seed)
    taken = 0
    for _ in range(150):
        data = _random_file(rng)
        assert _outcome(data) == _reference(data), data
        taken += _taken_fast(data)
    assert taken > 90


def test_too_many_rows_is_refused_naming_the_same_row(monkeypatch):
    monkeypatch.setattr(files, "MAX_ROWS", 5)
    row = b"CORP-1,avail,2026-10,1\n"
    data = b"contract,sla,period,value\n" + row * 3 + b"\n" + row * 4  # a blank row 5
    assert _taken_fast(data)
    assert _outcome(data) == _reference(data)
    assert "row 8 is past the limit" in _outcome(data)[1]


def test_a_very_long_or_very_wide_file_is_left_to_the_reference_reader():
    tall = "contract,sla,period,value\n" + "a\n" * (2 * files.MAX_ROWS + 10)
    wide = ",".join(["contract", "sla", "period", "value", *(f"x{i}" for i in range(100))])
    assert csv_fast.read(tall, ",") is None
    assert csv_fast.read(wide + "\nCORP-1,avail,2026-10,99.9\n", ",") is None
