"""
Reading a CSV file with pandas' C parser, where it reads exactly as the reference does.

The reference (files._csv_records, then files._table) reads a record at a time with
the csv module and builds the table row by row. A file without a quote character and
without a NUL splits the same way for both: every line ending (\\r\\n, \\r or \\n) ends a
record and every delimiter ends a cell. Such a file is read here in columns; any other
returns None and is read by the reference. Row numbers, problems, warnings and the
table are the same (tests/test_csv_fast.py compares both on random and hostile files).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from metrics.ingest import files
from metrics.ingest.files import COLUMNS, Problem, Table, UnreadableFileError

# Wider files (a header of unknown columns) are left to the reference, which keeps only the
# columns it reads.
MAX_WIDTH = 64


def read(text: str, delimiter: str) -> Table | None:
    """The table of a decoded CSV text, or None if only the reference reader may read it."""
    if '"' in text or "\x00" in text or not text.strip():
        return None
    # One "\n" for each line ending, as the csv module sees them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.count("\n") > 2 * (files.MAX_ROWS + 1):
        return None  # refused by the reference at the first row past the limit, unread
    fields = _fields(text, delimiter)
    width_found = int(fields.max())
    if width_found > MAX_WIDTH:
        return None  # the reference picks the columns it reads from each row: never a wide table
    frame = pd.read_csv(
        io.StringIO(text), sep=delimiter, header=None, names=range(width_found),
        index_col=False, dtype=object, na_filter=False, skip_blank_lines=False,
        quoting=csv.QUOTE_NONE, engine="c",
    )  # fmt: skip
    if len(frame) != len(fields):  # never seen: the reference reads whatever this can't
        return None
    raw = [frame[c].to_numpy(dtype=object) for c in range(width_found)]
    stripped = [_strip(column) for column in raw]
    filled = np.zeros(len(fields), dtype=bool)
    for column in stripped:
        filled |= column != ""
    kept = np.flatnonzero(filled)  # record index of each row that isn't blank
    if len(kept) > files.MAX_ROWS + 1:
        raise UnreadableFileError(files._too_many_rows(f"row {kept[files.MAX_ROWS + 1] + 1:,}"))
    if not len(kept):
        raise UnreadableFileError("The file has no data rows (it is empty).")

    def cells(i: int) -> list[str]:
        return [raw[c][i] for c in range(fields[i])]

    head = files._read_header(int(kept[0]) + 1, cells(kept[0]))
    if head.problems:
        return head.empty()
    data = kept[1:]
    files.check_data_rows(len(data))
    width = len(head.header)
    over = np.zeros(len(data), dtype=bool)  # more fields than the header, not all blank
    for column in stripped[width:]:
        over |= column[data] != ""
    first = stripped[0][data]
    repeats = np.zeros(len(data), dtype=bool)
    for j in np.flatnonzero(~over):
        if first[j].lower() == head.names[0]:
            repeats[j] = files._repeats(cells(data[j]), head.names)
    problems = [
        Problem(int(i) + 1, "", "", f"This row has {fields[i]} fields; the header has {width}.")
        if bad else
        Problem(int(i) + 1, "", "", f"This row repeats the header (row {head.row}): were two "
                "files joined? Remove it.")
        for i, bad in zip(data[over | repeats], over[over | repeats], strict=True)
    ]  # fmt: skip
    rows = data[~(over | repeats)]
    numbers = (rows + 1).tolist()
    empty = [""] * len(rows)
    columns = {
        column: stripped[head.positions[column]][rows].tolist()
        if column in head.positions else empty
        for column in COLUMNS
    }  # fmt: skip
    columns["value_is_number"] = [False] * len(rows)  # a CSV cell is text
    unstorable = files._unstorable_cells(numbers, columns)
    if unstorable:  # never in a decoded file: kept as the reference has it
        problems.extend(unstorable)
        dropped = {p.row for p in unstorable}
        keep = [i for i, number in enumerate(numbers) if number not in dropped]
        numbers = [numbers[i] for i in keep]
        columns = {column: [values[i] for i in keep] for column, values in columns.items()}
    table = pd.DataFrame({"row": numbers, **columns})
    table.attrs["decimal_mark"] = files.DECIMAL_MARK_OF_DELIMITER[delimiter]
    return Table(frame=table, warnings=head.warnings, problems=problems, data_rows=len(data))


def _fields(text: str, delimiter: str) -> np.ndarray:
    """The number of fields on each line (a record: no quotes here)."""
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ends = np.flatnonzero(chars == ord("\n"))
    lines = len(ends) + (not text.endswith("\n"))  # no record after the last line ending
    line_of = np.searchsorted(ends, np.flatnonzero(chars == ord(delimiter)))
    return np.bincount(line_of, minlength=lines)[:lines] + 1


# Whitespace at either end of a cell, cells joined by NUL (never in a file read here).
# `\s` is str.isspace(), as str.strip() has it.
_PADDED = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")


def _strip(column: np.ndarray) -> np.ndarray:
    """Each cell .strip()ped; a column with no cell to strip (the usual) as it is."""
    if _PADDED.search("\x00".join(column)) is None:
        return column
    return np.array([c.strip() for c in column], dtype=object)
