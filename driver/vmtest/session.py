"""One `vmtest quick|full|run`: prepare, run the checks, publish the results.

Preparing asks nix for its version and system, loads and validates the manifest,
selects the checks and refuses KVM checks the machine cannot build; then the runner
runs them; `--timeout` is one deadline for all of it, preparing included. Every
ending writes the report (`--report`, `--junit`, `--json`, GitHub output): an expected
error while preparing (exit 2, 3 or 4) becomes a failed check carrying that error,
and a Ctrl-C (or SIGTERM/SIGHUP) an interrupted report (exit 130).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vmtest import doctor, output
from vmtest.checks import runner, selection
from vmtest.checks.manifest import Check
from vmtest.checks.progress import make_display
from vmtest.errors import VmtestError
from vmtest.nix import commands
from vmtest.nix.argv import NixOptions, NixVersion
from vmtest.nix.process import TimedOut
from vmtest.report import targets
from vmtest.report.model import CheckResult, FailureInfo, RunReport, Status, with_checks


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for on the command line."""

    names: tuple[str, ...]
    flake: str
    system: str | None
    timeout: float | None
    json_out: bool
    junit: Path | None
    report_path: Path | None
    nix_opts: NixOptions
    allow_tcg: bool
    tier: str | None = None
    dry_run: bool = False
    print_build_logs: bool = False
    #: The words after `vmtest` as typed (hints repeat the command with an option added).
    command: tuple[str, ...] = ()


@dataclass
class _Prepared:
    """What preparing found out so far (kept when a later step fails)."""

    system: str | None
    checks: list[Check]
    #: Checks left out for this machine (KVM), and why; `checks` are the others.
    refused: doctor.KvmSplit | None = None


def run(request: RunRequest) -> int:
    """Run the request's checks and publish the report; returns the exit code."""
    started_at, t0 = datetime.now(UTC), time.monotonic()
    targets.check_targets(
        json_out=request.json_out, junit=request.junit, report_path=request.report_path
    )
    deadline = None if request.timeout is None else t0 + request.timeout
    found = _Prepared(request.system, [])
    try:
        version = _prepare(request, found, deadline)
        if request.dry_run:
            return _dry_run(request, found, version)
        if deadline is None:
            deadline = t0 + selection.budget(found.checks, None)
        cfg = runner.RunConfig(request.flake, found.system or "unknown", version, request.nix_opts)
        logs = request.print_build_logs
        report = runner.Runner(cfg, make_display(), deadline, print_logs=logs).run(found.checks)
        report = _with_refused(report, found)
    except KeyboardInterrupt:  # before any check started (the runner reports its own)
        stopped = _Stopped(Status.INTERRUPTED, "interrupted before the check started")
        report = _stopped_report(request, found, started_at, t0, stopped)
    except VmtestError as exc:  # exit 2, 3 or 4: the report says it too, then the error line
        status = Status.TIMED_OUT if isinstance(exc, TimedOut) else Status.FAILED
        message = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        report = _stopped_report(request, found, started_at, t0, _Stopped(status, message))
        _publish(request, report, console=False)
        raise
    _publish(request, report, console=True)
    return output.exit_code(report)


def _prepare(request: RunRequest, found: _Prepared, deadline: float | None) -> NixVersion:
    """Nix's version and system, the selected checks, and the KVM refusal (in `found`)."""

    def left() -> float | None:
        return None if deadline is None else max(0.001, deadline - time.monotonic())

    version, current = commands.info(request.nix_opts, timeout=left())
    found.system = system = found.system or current
    loaded = selection.load(request.flake, system, request.nix_opts, timeout=left())
    found.checks = selection.select(
        loaded.manifest, system, list(request.names), request.tier, loaded.unlisted()
    )
    split = doctor.split_kvm(
        found.checks,
        request.allow_tcg,
        remote=request.nix_opts.builds_remotely,
        version=version,
        command=request.command or ("full",),
        options=request.nix_opts.options,
    )
    if split.reason is None:
        return version
    if request.dry_run:  # builds nothing, so is never refused
        print(f"note: a run would leave these out: {split.reason.message}", file=sys.stderr)
    elif not split.runnable:
        raise split.reason
    else:
        print(f"warning: {split.reason.message}; running the other checks", file=sys.stderr)
        print(f"  hint: {split.reason.hint}", file=sys.stderr)
        found.checks, found.refused = split.runnable, split
    return version


def _with_refused(report: RunReport, found: _Prepared) -> RunReport:
    """The report with the checks left out for this machine added as not run, with why."""
    split = found.refused
    if split is None or split.reason is None:
        return report
    reason = split.reason.message + (f" (hint: {split.reason.hint})" if split.reason.hint else "")
    system = found.system or "unknown"
    refused = [
        CheckResult(
            name=c.name,
            attr=c.attr_for(system),
            status=Status.NOT_RUN,
            failure=FailureInfo(message=f"not run on this machine: {reason}"),
        )
        for c in split.refused
    ]
    return with_checks(report, refused)


def _publish(request: RunRequest, report: RunReport, *, console: bool) -> None:
    output.publish(
        report,
        json_out=request.json_out,
        junit=request.junit,
        report_path=request.report_path,
        console=console,
    )


@dataclass(frozen=True)
class _Stopped:
    """Why a run ended before any check ran: the checks' status and their message."""

    status: Status
    message: str


def _stopped_report(
    request: RunRequest, found: _Prepared, started_at: datetime, t0: float, stopped: _Stopped
) -> RunReport:
    """The report of a run stopped before any check ran (an error, a timeout, a Ctrl-C):
    each selected check (else each name asked for, patterns left out; else `vmtest`) has
    that status and message, so CI never reads an empty, green report."""
    names = [c.name for c in found.checks] or [
        n
        for n in request.names
        if not selection.is_glob(n)  # a pattern names no check
    ]
    if request.tier is not None and not found.checks:
        names.append(f"{request.tier}-tier")
    system = found.system or "unknown"
    results = [
        CheckResult(
            name=name,
            attr=f"checks.{system}.{name}",
            status=stopped.status,
            failure=FailureInfo(message=stopped.message),
        )
        for name in names or ["vmtest"]
    ]
    ending = Status.INTERRUPTED if stopped.status is Status.INTERRUPTED else None
    return runner.make_report(request.flake, system, started_at, t0, results, ending)


def _dry_run(request: RunRequest, found: _Prepared, version: NixVersion) -> int:
    """`--dry-run`: evaluate the checks, say what is built already and what would be
    built or fetched; build nothing. Exit 0, or 1 when a check does not evaluate."""
    cfg = runner.RunConfig(request.flake, found.system or "unknown", version, request.nix_opts)
    runs = runner.Runner(cfg, make_display(), None).plan(found.checks)
    output.print_plan(runs, json_out=request.json_out)
    return 1 if any(r.eval_failure is not None for r in runs) else 0
