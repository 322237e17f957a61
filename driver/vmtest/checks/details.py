"""A check's result details (subtests, phases, failure, findings) from its logs and outputs.

Pure (no process is run; `vmtest.checks.decide` calls these). The decider knows
which derivation belongs to which check and how the build ended; these read what
the parsed log told (subtests, boot/script phases, the failing derivation, its log
tail, an evaluation error with its position), the .drv path `nix path-info
--derivation` printed, quick-tier findings in an output file, the rule-id subtests
of the quick tier, the suite's text report, and driver marks in a stored build log.
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from vmtest.checks.manifest import Check
from vmtest.checks.suitetext import parse_suite_text
from vmtest.nix import driverlog
from vmtest.nix.logevents import DEFAULT_TAIL_LINES, DerivationState, EvalError, cut
from vmtest.nix.logparse import LogParser
from vmtest.nix.process import Completed
from vmtest.report.findings import parse_findings, parse_summary
from vmtest.report.model import (
    EvalErrorInfo,
    FailureInfo,
    Finding,
    PhaseTimes,
    Status,
    SubtestResult,
)
from vmtest.text import strip_ansi

_UNFINISHED_MESSAGE = "did not finish"


def subtest_results(state: DerivationState | None, check_status: Status) -> list[SubtestResult]:
    """Subtests in script order; one still running when the build ended takes the check's
    status if that was a timeout or an interrupt, else `failed` ("did not finish")."""
    if state is None:
        return []
    results: list[SubtestResult] = []
    for sub in state.subtests.values():
        if sub.passed is True:
            results.append(
                SubtestResult(name=sub.name, status=Status.PASSED, duration=sub.duration)
            )
        elif sub.passed is False:
            results.append(
                SubtestResult(
                    name=sub.name, status=Status.FAILED, duration=sub.duration, message=sub.message
                )
            )
        else:
            unfinished = (
                check_status
                if check_status in (Status.TIMED_OUT, Status.INTERRUPTED)
                else Status.FAILED
            )
            results.append(
                SubtestResult(name=sub.name, status=unfinished, message=_UNFINISHED_MESSAGE)
            )
    return results


def phase_times(
    state: DerivationState | None,
    evaluate: float | None,
    build_started_at: float | None,
    build_ended_at: float | None,
) -> PhaseTimes:
    """Phases of one check. `build` runs from the start of `nix build` until the test
    driver starts a VM (or until the build ended, for checks that start none); `boot`
    and `script` come from the driver's own timings where it printed them."""
    build: float | None = None
    if build_started_at is not None:
        until = build_ended_at
        if state is not None and state.vm_start_at is not None:
            until = state.vm_start_at
        elif state is not None and state.stopped_at is not None:
            until = state.stopped_at
        if until is not None:
            build = max(0.0, until - build_started_at)
    if state is None:
        return PhaseTimes(evaluate=evaluate, build=build)
    return PhaseTimes(
        evaluate=evaluate, build=build, boot=state.boot_seconds(), script=state.script_seconds()
    )


def failure_info(
    parser: LogParser, drv_path: str | None, message: str | None = None
) -> FailureInfo:
    """Why a check failed: its derivation's failure and log tail, else the first eval error.

    `drv_path` is the check's derivation; when a dependency failed instead, that
    dependency's failure (the first one Nix reported) is used."""
    failures = parser.failures
    own = next((f for f in failures if f.drv_path == drv_path), None)
    failure = own or (failures[0] if failures else None)
    if failure is not None:
        return FailureInfo(
            message=message or failure.message,
            drv_path=failure.drv_path,
            exit_code=failure.exit_code,
            log_tail=parser.log_tail(failure.drv_path),
        )
    errors = parser.eval_errors
    if errors:
        return eval_error_failure(errors[0], message or errors[0].message)
    tail = parser.log_tail(drv_path) if drv_path else []
    return FailureInfo(message=message or "the build failed", drv_path=drv_path, log_tail=tail)


def eval_error_failure(error: EvalError, message: str) -> FailureInfo:
    """A failure that is a Nix evaluation error, with its position and its whole text."""
    return FailureInfo(
        message=message,
        eval_error=EvalErrorInfo(
            message=error.message, file=error.file, line=error.line, column=error.column
        ),
        log_tail=error.detail.splitlines(),
    )


def driver_timed_out(state: DerivationState | None) -> bool:
    """True when the NixOS test driver said its global timeout was reached."""
    return state is not None and state.driver_timed_out


def driver_runs(parser: LogParser) -> list[DerivationState]:
    """Derivations whose log showed the NixOS test driver at work, oldest first."""
    return [state for state in parser.derivations() if state.is_vm_test]


def suite_subtests(
    names: list[str], parser: LogParser, check_status: Status
) -> list[SubtestResult]:
    """A failed suite's subtests (the union of its checks' names, unique across the
    suite), in its manifest's order, as its checks' own driver logs in this build said
    them; a subtest no log of this build showed is `not-run` here."""
    seen = {
        sub.name: sub
        for state in driver_runs(parser)
        for sub in subtest_results(state, check_status)
    }
    return [seen.get(name) or SubtestResult(name=name, status=Status.NOT_RUN) for name in names]


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
        return eval_error_failure(errors[0], f"evaluation failed: {errors[0].message}")
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


def suite_text_subtests(check: Check, text: str) -> list[SubtestResult]:
    """Subtests of a full-tier check from the suite's text report (its log or `$out`).

    A check's own block when the text has one; a suite (whose manifest subtests are the
    union of its checks') takes every block's subtests, in the order printed."""
    blocks = parse_suite_text(text)
    own = [b for b in blocks if b.name == check.name]
    chosen = own or blocks
    if not own and len(blocks) < 2:
        return []
    return [sub for block in chosen for sub in block.subtests]


_FAILED_SUBTEST = re.compile(r'vmtest: \S+: FAILED subtest "(?P<name>.*)":$')
_DETAIL_PREFIX = "vmtest:   "


def with_failure_details(subtests: list[SubtestResult], tail: list[str]) -> list[SubtestResult]:
    """Failed subtests with the error a full-tier check printed as its last log lines
    (tests/e2e/script-header.py, the probes): with a failed command's last output lines,
    which the driver's own `Test "..." failed` line does not carry."""
    details: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in tail:
        line = strip_ansi(raw).rstrip()
        if m := _FAILED_SUBTEST.search(line):
            current = details.setdefault(m["name"], [])
            current.clear()
        elif current is not None and _DETAIL_PREFIX in line:
            current.append(line.split(_DETAIL_PREFIX, 1)[1])
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
