"""What a check's logs and outputs say, turned into result data (no process is run).

The runner decides pass/fail from Nix; this module reads the details: the .drv
path `nix path-info --derivation` printed, an evaluation error with its
position, quick-tier findings in an output file, the rule-id subtests of the
quick tier, and driver marks in a stored build log.
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from vmtest import collect, driverlog
from vmtest.findings import parse_findings, parse_summary
from vmtest.judgetext import parse_judge_text
from vmtest.logevents import DEFAULT_TAIL_LINES, DerivationState, cut, strip_ansi
from vmtest.logparse import LogParser
from vmtest.manifest import Check
from vmtest.process import Completed
from vmtest.results import EvalErrorInfo, FailureInfo, Finding, Status, SubtestResult

#: Largest output file read for findings (the quick tier's report is a few KiB).
MAX_FINDINGS_BYTES = 1 << 20


class StoredLog:
    """Driver marks (subtests, boot, script) of a stored build log, fed line by line, for
    a check whose output was already in the store (nothing was built or logged now)."""

    def __init__(self, drv: str) -> None:
        self.state = DerivationState(drv, deque(maxlen=DEFAULT_TAIL_LINES))

    def feed(self, line: str) -> None:
        clean = cut(strip_ansi(line))
        self.state.tail.append(clean)
        driverlog.apply(self.state, clean, time.monotonic)


def state_from_log(drv: str, lines: list[str]) -> DerivationState:
    """`StoredLog` over a list of lines."""
    log = StoredLog(drv)
    for line in lines:
        log.feed(line)
    return log.state


def drv_path(stdout: str) -> str:
    lines = [line.strip() for line in stdout.splitlines() if line.strip().endswith(".drv")]
    return lines[-1] if lines else ""


def eval_failure(parser: LogParser, done: Completed) -> FailureInfo:
    errors = [e for e in parser.eval_errors if not e.message.startswith("(use '--show-trace'")]
    if errors:
        return collect.eval_error_failure(errors[0], f"evaluation failed: {errors[0].message}")
    tail = [strip_ansi(line) for line in done.stderr_tail]
    return FailureInfo(
        message=f"evaluation failed (nix exit code {done.returncode})",
        eval_error=EvalErrorInfo(message="\n".join(tail[-5:]) or "unknown error"),
        log_tail=tail,
    )


def _small_text(out: str) -> str | None:
    """The text of an output that is a file small enough to read, else None."""
    path = Path(out)
    if not path.is_file() or path.stat().st_size > MAX_FINDINGS_BYTES:
        return None
    return path.read_text(errors="replace")


def output_findings(outputs: list[str]) -> list[Finding]:
    """Findings written into a check's output file (the quick tier's report)."""
    return [f for out in outputs for f in parse_findings(_small_text(out) or "")]


def rule_subtests(
    check: Check, status: Status, findings: list[Finding], artifacts: list[str]
) -> list[SubtestResult]:
    """The quick tier's subtests are its rule ids: one fails when an error finding names it.

    Only when the analysis is known to have run every rule: a pass whose report has
    the `vm-analysis: OK` summary, or a failure that listed error findings.
    """
    errors: dict[str, list[str]] = {}
    for f in findings:
        if f.severity == "error":
            errors.setdefault(f.id, []).append(f.message)
    complete = (status is Status.FAILED and errors) or (
        status is Status.PASSED and any(parse_summary(_small_text(a) or "") for a in artifacts)
    )
    if not complete:
        return []
    return [
        SubtestResult(name=rule, status=Status.FAILED, message="; ".join(errors[rule]))
        if rule in errors
        else SubtestResult(name=rule, status=Status.PASSED)
        for rule in check.subtests
    ]


def judge_subtests(check: Check, text: str) -> list[SubtestResult]:
    """Subtests of a full-tier "judge" check from its verdict text (its log or `$out`).

    A check's own block when the text has one; a suite (whose manifest subtests are the
    union of its checks') takes every block's subtests, in the order printed."""
    blocks = parse_judge_text(text)
    own = [b for b in blocks if b.name == check.name]
    chosen = own or blocks
    if not own and len(blocks) < 2:
        return []
    return [sub for block in chosen for sub in block.subtests]


_VERDICT = re.compile(r'vmtest: \S+: FAILED subtest "(?P<name>.*)":$')
_VERDICT_LINE = "vmtest:   "


def with_failure_details(subtests: list[SubtestResult], tail: list[str]) -> list[SubtestResult]:
    """Failed subtests with the error a full-tier check printed as its last log lines
    (tests/e2e/script-header.py, the probes): with a failed command's last output lines,
    which the driver's own `Test "..." failed` line does not carry."""
    details: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in tail:
        line = strip_ansi(raw).rstrip()
        if m := _VERDICT.search(line):
            current = details.setdefault(m["name"], [])
            current.clear()
        elif current is not None and _VERDICT_LINE in line:
            current.append(line.split(_VERDICT_LINE, 1)[1])
        else:
            current = None
    return [
        s.model_copy(update={"message": "\n".join(details[s.name])})
        if s.status is Status.FAILED and details.get(s.name)
        else s
        for s in subtests
    ]


def output_text(outputs: list[str]) -> str | None:
    """The text of a check's output file, if it has one (small enough to read)."""
    return next((text for out in outputs if (text := _small_text(out)) is not None), None)
