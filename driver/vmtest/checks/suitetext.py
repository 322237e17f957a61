"""Parse `vm-test-suite`'s text report (one block per check) into subtest results.

`vm-test-suite`'s `out` (tests/e2e/report/vmtest_e2e.py, `render_text`) is a one-line
header, then one block per check:

    FAILED  vm-service-test (1/3 subtests passed) (31.5s)
        ok       sshd accepts the test key (0.5s)
        FAILED   docker runs a container (1.2s)
                 Exception: command `docker run ...` failed (exit code 125)
        not-run  the test user is in the docker group
        error: no result recorded: the check did not run

The suite runs no driver itself, so when it passes (or is already in the store) these
blocks are where its subtests are; the six checks' subtests come from their own driver
logs. Surrounding noise and ANSI colours are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmtest.report.model import Status, SubtestResult
from vmtest.text import strip_ansi

_SECONDS = r"(?: \((?P<s>[0-9]+(?:\.[0-9]+)?)s\))?"
_HEADER = re.compile(
    r"(?P<status>PASSED|FAILED) +(?P<name>\S+) \((?P<passed>\d+)/(?P<total>\d+) subtests passed\)"
    + _SECONDS
)
_SUBTEST = re.compile(r"    (?P<mark>ok|FAILED|not-run) +(?P<name>.+?)" + _SECONDS)
_DETAIL = re.compile(r" {13}(?P<text>\S.*)")
_ERROR = re.compile(r"    error: (?P<text>.+)")
_MARKS = {"ok": Status.PASSED, "FAILED": Status.FAILED, "not-run": Status.NOT_RUN}


@dataclass
class CheckBlock:
    """One check's block of the suite's text report."""

    name: str
    passed: bool
    duration: float | None
    subtests: list[SubtestResult] = field(default_factory=list)
    error: str | None = None


def parse_suite_text(text: str) -> list[CheckBlock]:
    """Every check block in `text`, in order; a repeated check keeps its last block."""
    checks: dict[str, CheckBlock] = {}
    current: CheckBlock | None = None
    details: list[str] = []
    for raw in text.splitlines():
        line = strip_ansi(raw).rstrip()
        if m := _HEADER.fullmatch(line):
            _close(current, details)
            current = CheckBlock(m["name"], m["status"] == "PASSED", _float(m["s"]))
            checks[current.name] = current
        elif current is None:
            continue
        elif m := _SUBTEST.fullmatch(line):
            _close(current, details)
            current.subtests.append(
                SubtestResult(name=m["name"], status=_MARKS[m["mark"]], duration=_float(m["s"]))
            )
        elif (m := _DETAIL.fullmatch(line)) and current.subtests:
            details.append(m["text"])
        elif m := _ERROR.fullmatch(line):
            _close(current, details)
            current.error = m["text"]
        else:
            _close(current, details)
            current = None
    _close(current, details)
    return list(checks.values())


def _close(check: CheckBlock | None, details: list[str]) -> None:
    """Attach collected detail lines to the check's last subtest as its message."""
    if check is not None and details and check.subtests:
        last = check.subtests[-1]
        check.subtests[-1] = last.model_copy(update={"message": "\n".join(details)})
    details.clear()


def _float(value: str | None) -> float | None:
    return float(value) if value is not None else None
