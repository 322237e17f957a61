"""What a run's results say, in words: the pieces every report format shares.

Pure functions of results: cleaned text and cut log tails, durations, the order of
checks (worst first), the headline, the closing "next:" line and the facts a failure
section tells (findings are written by `vmtest.findings.findings_lines`).
`vmtest.report.render` lays them out as JUnit, Markdown or a console summary;
`vmtest.report.github` and `vmtest.output` use them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmtest.report.model import CheckResult, Finding, RunReport, Status, SubtestResult, status_rank
from vmtest.text import strip_ansi

DEFAULT_TAIL_LINES = 50

# XML 1.0 Char production: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF.
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(text: str) -> str:
    """Text without ANSI escapes, carriage returns and XML-illegal characters."""
    return _XML_ILLEGAL.sub("", strip_ansi(text))


def cut_tail(lines: list[str], limit: int = DEFAULT_TAIL_LINES) -> list[str]:
    """The last `limit` lines, preceded by a note when earlier lines were dropped."""
    cleaned = [clean_text(line) for line in lines]
    if len(cleaned) <= limit:
        return cleaned
    dropped = len(cleaned) - limit
    return [f"[... {dropped} earlier lines cut; showing the last {limit}]", *cleaned[-limit:]]


def ordered_checks(report: RunReport) -> list[CheckResult]:
    """Checks with the worst status first, otherwise in run order."""
    return sorted(report.checks, key=lambda c: status_rank(c.status))


def format_seconds(seconds: float | None) -> str:
    """`-` when unknown, `850ms`, `12.3s`, `2m05s`."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


# A status in words, for the headline: "2 failed, 1 could not be evaluated".
_IN_WORDS = {
    Status.PASSED: "passed",
    Status.FAILED: "failed",
    Status.EVAL_ERROR: "could not be evaluated",
    Status.TIMED_OUT: "timed out",
    Status.INTERRUPTED: "interrupted",
    Status.NOT_RUN: "did not run",
    Status.SKIPPED: "skipped",
}


def headline(report: RunReport) -> str:
    """`vmtest: <status> (<N> checks: <how many ended how>)`, worst first."""
    total = len(report.checks)
    if total == 0:
        what = "before any check started" if report.interrupted else "no checks"
        return f"vmtest: {report.status.value} ({what})"
    counts: dict[Status, int] = {}
    for c in ordered_checks(report):
        counts[c.status] = counts.get(c.status, 0) + 1
    checks = f"{total} check{'s' if total > 1 else ''}"
    if len(counts) == 1:
        return f"vmtest: {report.status.value} ({checks})"
    ended = ", ".join(f"{n} {_IN_WORDS[status]}" for status, n in counts.items())
    return f"vmtest: {report.status.value} ({checks}: {ended})"


def next_step(report: RunReport) -> str | None:
    """One line on what to do about the checks that did not pass (None when all did)."""

    def named(status: Status, with_findings: bool | None = None, logged: bool = True) -> str:
        return ", ".join(
            c.name
            for c in report.checks
            if c.status is status
            and (
                with_findings is None
                or with_findings == any(f.severity == "error" for f in c.findings)
            )
            and (status is not Status.FAILED or logged == _has_log(c))
        )

    steps = [
        (named(Status.EVAL_ERROR), "fix the Nix evaluation error shown above"),
        (named(Status.FAILED, True), "change the configuration as each error finding's fix says"),
        (named(Status.FAILED, False), "see the log tail above (all of it: the `nix log` below)"),
        (named(Status.FAILED, False, logged=False), "see why above"),
        (named(Status.TIMED_OUT), "ran out of time: raise the budget with --timeout SECONDS"),
        (named(Status.INTERRUPTED), "interrupted: run again for a result"),
        (_not_run(report, said_why=True), "did not run here: see why above"),
        (_not_run(report, said_why=False), "did not run"),
    ]
    said = [f"{names}: {what}" for names, what in steps if names]
    if not said and report.interrupted:
        said = ["interrupted before any check started: run again for a result"]
    if not said:
        return None
    return "\n".join(["next: " + "; ".join(said), *_commands(report)])


def _not_run(report: RunReport, said_why: bool) -> str:
    """The checks that did not run, with (or without) a reason in their failure section."""
    return ", ".join(
        c.name
        for c in report.checks
        if c.status is Status.NOT_RUN and (c.failure is not None) == said_why
    )


def _has_log(check: CheckResult) -> bool:
    """True when the failure has a build log (a builder ran; `nix log` shows it all)."""
    return bool(check.failure and check.failure.drv_path and check.failure.log_tail)


#: README.md's section on the interactive driver.
DEBUG_SECTION = 'README.md, "Debugging a failing VM test"'


def _commands(report: RunReport) -> list[str]:
    """The commands to dig further: each failed build's whole log, and for a check that
    booted a VM, its interactive driver: runNixOSTest sets `passthru.driverInteractive`
    (nixpkgs nixos/lib/testing/interactive.nix, read at 0db57dc974ee as stored; the pin
    02e08985a27c is not), and each booted check is its own runNixOSTest."""
    lines: list[str] = []
    for c in report.checks:
        if c.status is not Status.FAILED or c.failure is None:
            continue
        if _has_log(c) and not any(f.severity == "error" for f in c.findings):
            lines.append(f"  {c.name}: nix log {c.failure.drv_path}")
        if (booted := _booted_attr(c)) is not None:
            lines.append(
                f"  {c.name}: nix run {report.flake}#{booted}.driverInteractive"
                f"  (see {DEBUG_SECTION})"
            )
    return lines


#: runNixOSTest names its test derivation `vm-test-run-<name>` (nixpkgs
#: nixos/lib/testing/run.nix, read at 0020e46c8b1c as stored).
_VM_TEST_DRV = re.compile(r"-vm-test-run-(?P<name>[^/]+)\.drv$")


def _booted_attr(check: CheckResult) -> str | None:
    """The attribute of the booted check to open interactively: this check, if the
    driver ran a VM in it, or the booted check of the same flake whose test failed
    under it (a suite's dependency)."""
    if check.phases.boot is not None or check.phases.script is not None:
        return check.attr
    drv = check.failure.drv_path if check.failure else None
    match = _VM_TEST_DRV.search(drv or "")
    if match is None:
        return None
    return f"{check.attr.rpartition('.')[0]}.{match['name']}"


def subtest_counts(check: CheckResult) -> str:
    """`passed/total` of the check's subtests, `-` when it has none."""
    if not check.subtests:
        return "-"
    passed = sum(1 for s in check.subtests if s.status is Status.PASSED)
    return f"{passed}/{len(check.subtests)}"


@dataclass(frozen=True)
class FailureFacts:
    """What every renderer tells about a check that did not pass (cleaned text)."""

    message: str | None
    drv_path: str | None
    drv_label: str  # "failing derivation", or "derivation" of a check cut short
    exit_code: int | None
    position: str | None  # "file:line:column" of an evaluation error
    subtests: list[SubtestResult]  # those that did not pass (and no error finding restates)
    findings: list[Finding]
    log_tail: list[str]


def failure_facts(check: CheckResult) -> FailureFacts:
    failure = check.failure
    error = failure.eval_error if failure else None
    found = {f.id for f in check.findings if f.severity == "error"}  # its rule subtest says so too
    return FailureFacts(
        message=clean_text(failure.message) if failure else None,
        drv_path=failure.drv_path if failure else None,
        drv_label="failing derivation" if check.status is Status.FAILED else "derivation",
        exit_code=failure.exit_code if failure else None,
        position=f"{error.file}:{error.line}:{error.column}" if error and error.file else None,
        subtests=[
            s for s in check.subtests if s.status is not Status.PASSED and s.name not in found
        ],
        findings=list(check.findings),
        log_tail=failure.log_tail if failure else [],
    )


def subtest_line(sub: SubtestResult, name: str) -> str:
    """`subtest <name> <status>: <why>`, the name already quoted or marked up."""
    why = f": {clean_text(sub.message)}" if sub.message else ""
    return f"subtest {name} {sub.status.value}{why}"
