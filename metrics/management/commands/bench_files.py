"""
The worst-case cost of reading an upload: every case of
`metrics.ingest.worst_cases`, each read in a fresh process.

    manage.py bench_files [--case NAME ...]

For each file it prints the outcome, the wall-clock time of `read_table`, the
memory the reading process added (its peak resident memory during the read,
less what it held before) and the peak of the workbook reader's child
process. Their sum is what one upload can cost the machine at most.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from metrics.ingest import worst_cases


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Command(BaseCommand):
    help = "Time and memory of reading the costliest and most hostile files the limits allow."

    def add_arguments(self, parser):
        parser.add_argument("--case", action="append", dest="cases", help="Only these cases.")
        parser.add_argument("--one", nargs=2, metavar=("PATH", "FILENAME"), help="(internal)")

    def handle(self, *args, cases=None, one=None, **options):
        if one:
            return self._measure(Path(one[0]), one[1])
        rows = []
        for case in worst_cases.cases(cases):
            with tempfile.NamedTemporaryFile(suffix=case.filename) as tmp:
                tmp.write(case.data)
                tmp.flush()
                done = subprocess.run(  # noqa: S603 - this same command
                    [sys.executable, "manage.py", "bench_files", "--one", tmp.name, case.filename],
                    capture_output=True,
                    text=True,
                    check=True,
                )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            expected = case.expect == "ok" and result["outcome"].startswith("ok")
            expected |= case.expect != "ok" and case.expect.lower() in result["outcome"].lower()
            rows.append((case, result, expected))
            self.stdout.write(
                f"{case.name:30} {len(case.data) / 1e6:6.2f} MB  {result['seconds']:6.2f} s  "
                f"+{result['parent_mb']:4d} MB  child {result['child_mb']:4d} MB  "
                f"{'as expected' if expected else 'UNEXPECTED'}: {result['outcome'][:90]}"
            )
        worst_time = max(r["seconds"] for _, r, _ in rows)
        worst_memory = max(r["parent_mb"] + r["child_mb"] for _, r, _ in rows)
        self.stdout.write(
            f"worst case: {worst_time:.2f} s, {worst_memory} MB "
            f"(reading process increase + child peak); "
            f"{sum(1 for *_, ok in rows if not ok)} unexpected outcome(s)"
        )

    def _measure(self, path: Path, filename: str) -> None:
        from metrics.ingest import files, sandbox

        data = path.read_bytes()
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        try:
            table = files.read_table(data, filename)
            outcome = f"ok: {table.data_rows:,} data rows, {len(table.problems):,} problems"
        except files.UnreadableFileError as exc:
            outcome = f"refused: {exc.message}"
        seconds = time.perf_counter() - started
        self.stdout.write(
            json.dumps(
                {
                    "outcome": outcome,
                    "seconds": round(seconds, 3),
                    "parent_mb": max(_status_kb("VmHWM") - before, 0) // 1024,
                    "child_mb": sandbox.last_child_maxrss_kb // 1024,
                }
            )
        )
