"""Where reports go: a file, checked writable before anything runs, or stdout (`-`).

A report path of `-` is stdout everywhere (`--report -`, `--junit -`, `vmtest report
--markdown -`); at most one report goes there. A path is checked by opening it as the
write will (appending, so nothing is lost; a file made for the check is removed again),
so every reason the system has for refusing it (`/proc`, a read-only file system,
permissions) shows before any check runs. Reasons are said in words, not `[Errno N]`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from vmtest.errors import BadInput
from vmtest.report.github import in_github_actions
from vmtest.text import os_reason

#: A report path that means standard output (as for `vmtest report --markdown -`).
STDOUT = "-"


def to_stdout(path: Path | None) -> bool:
    return path is not None and str(path) == STDOUT


def check_targets(
    *,
    json_out: bool,
    junit: Path | None,
    report_path: Path | None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Before anything runs: at most one report on stdout (`--json`, `--report -` and
    `--junit -`), and every report file writable, the GitHub step summary included (else
    exit 2)."""
    env = os.environ if env is None else env
    json_stdout = json_out or to_stdout(report_path)
    if json_stdout and to_stdout(junit):
        raise BadInput(
            "only one report can go to stdout: the JSON report (--json or --report -) "
            "or the JUnit XML (--junit -)",
            hint="write the other to a file",
        )
    ensure_writable([p for p in (junit, report_path) if p is not None])
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary and in_github_actions(env):
        _ensure_writable(Path(summary), "the GitHub step summary ($GITHUB_STEP_SUMMARY)")


def ensure_writable(paths: list[Path]) -> None:
    """Fail before running anything if a report could not be written (exit 2); `-` is
    stdout."""
    for path in paths:
        if not to_stdout(path):
            _ensure_writable(path, "report")


def _ensure_writable(path: Path, what: str) -> None:
    """Open `path` for appending (creating it, then removing it again, when it did not
    exist), so every reason the system has for refusing shows now, before any check runs."""
    parent = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise BadInput(f"cannot write {what} {path}: it is a directory")
    if parent.exists() and not parent.is_dir():
        raise BadInput(f"cannot write {what} {path}: {parent} is not a directory")
    if not parent.is_dir():
        raise BadInput(f"cannot write {what} {path}: directory {parent} does not exist")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except FileNotFoundError as exc:  # the directory exists: it takes no new files (/proc)
        raise BadInput(f"cannot write {what} {path}: {parent} takes no new files") from exc
    except OSError as exc:
        raise BadInput(f"cannot write {what} {path}: {os_reason(exc)}") from exc


def write_text(path: Path, text: str) -> None:
    """Write a report file; `-` writes to stdout."""
    if to_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {os_reason(exc)}") from exc
