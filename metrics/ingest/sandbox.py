"""
Reading an untrusted workbook in a child process with a memory and a time limit.

A workbook is a ZIP of XML written by whoever uploads it. However careful the
reader, a file could still make it run out of memory or time; here that
happens in a short-lived child process (a fresh interpreter, no Django, no
pandas), whose address space is capped with `RLIMIT_AS` and whose CPU time
with `RLIMIT_CPU`, and which the parent kills at a wall-clock deadline. The
child's death, whatever its cause, becomes an UnreadableFile for the
submission: the web worker, the Celery pool process and `runserver` live on.

The child prints one JSON object: {"sheet": name, "rows": [[n, [cells]], ...]}
or {"error": message} for a workbook it can read but refuses.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

MEMORY_LIMIT = 640 * 1024 * 1024  # address space of the child, bytes
TIME_LIMIT = 20  # seconds of wall-clock time, and of CPU time
ROOT = str(Path(__file__).resolve().parents[2])
logger = logging.getLogger(__name__)
last_child_maxrss_kb = 0  # peak memory of the last child that answered (for bench_files)
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from metrics.ingest.sandbox import child_main; child_main()"
)


class ReadFailedError(Exception):
    """The child could not read the file; the message is for the uploader."""


def read_xlsx_rows(
    data: bytes, *, max_rows: int, memory_limit: int | None = None, time_limit: int | None = None
) -> list[tuple[int, list[str]]]:
    """The rows of the workbook's readings sheet, read in the child. Raises ReadFailedError."""
    memory_limit = memory_limit or MEMORY_LIMIT
    time_limit = time_limit or TIME_LIMIT
    args = [sys.executable, "-I", "-c", _CHILD, ROOT, str(memory_limit), str(time_limit),
            str(max_rows)]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            args,
            input=data,
            capture_output=True,
            timeout=time_limit,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReadFailedError(
            f"This file could not be read: reading it took longer than {time_limit} seconds. "
            "Save it again from Excel (or as CSV) and upload that file."
        ) from None
    if done.returncode != 0:
        logger.warning(
            "the workbook reader ended with %s: %s",
            done.returncode,
            done.stderr[-2000:].decode("utf-8", "replace"),
        )
        raise ReadFailedError(
            "This file could not be read: it needs more memory or time than a workbook of "
            "this size should. Save it again from Excel (or as CSV) and upload that file."
        )
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise ReadFailedError("This file could not be read (the reader gave no answer).") from None
    if "error" in answer:
        raise ReadFailedError(answer["error"])
    global last_child_maxrss_kb
    last_child_maxrss_kb = int(answer.get("maxrss_kb", 0))
    return [(int(n), cells) for n, cells in answer["rows"]]


def _limit(memory: int, seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    # No core dump of somebody else's file.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _maxrss_kb() -> int:
    """Peak resident memory of this process since its exec (ru_maxrss would include the fork)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_main() -> None:
    """Entry point of the child: the workbook on stdin, one JSON answer on stdout."""
    from metrics.ingest import xlsx

    memory, seconds, max_rows = (int(v) for v in sys.argv[2:5])
    _limit(memory, seconds)
    data = sys.stdin.buffer.read()
    try:
        sheet, rows = xlsx.read_sheet(data, max_rows=max_rows)
        answer = {"sheet": sheet, "rows": rows, "maxrss_kb": _maxrss_kb()}
    except xlsx.SheetError as exc:
        answer = {"error": str(exc)}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        answer = {"error": f"The workbook can't be read: {exc}."}
    except (MemoryError, RecursionError):
        sys.exit(3)
    out = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.buffer.write(out.encode("utf-8", "surrogatepass"))
