"""One `vmtest quick|full|run`: prepare, run the checks, publish the results.

Preparing asks nix for its version and system, loads and validates the manifest,
selects the checks and refuses KVM checks without KVM; then the runner runs them
under one deadline and `vmtest.output` prints and writes the report. A Ctrl-C (or
SIGTERM/SIGHUP) at any point still ends in a report: while preparing, an empty
interrupted one, so `--report`/`--junit` files always exist after an interrupt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vmtest import doctor, nix, output, runner, selection
from vmtest.manifest import Check
from vmtest.nixargv import NixOptions
from vmtest.progress import make_display
from vmtest.results import Status


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


def run(request: RunRequest) -> int:
    """Run the request's checks and publish the report; returns the exit code."""
    started_at, t0 = datetime.now(UTC), time.monotonic()
    output.ensure_writable([p for p in (request.junit, request.report_path) if p is not None])
    system = request.system
    try:
        version, current = nix.info(request.nix_opts)
        system = system or current
        checks = _select(request, system)
    except KeyboardInterrupt:  # before any check started
        ending = Status.INTERRUPTED
        report = runner.make_report(request.flake, system or "unknown", started_at, t0, [], ending)
    else:
        deadline = t0 + selection.budget(checks, request.timeout)
        cfg = runner.RunConfig(request.flake, system, version, request.nix_opts)
        report = runner.Runner(cfg, make_display(), deadline).run(checks)
    output.publish(
        report, json_out=request.json_out, junit=request.junit, report_path=request.report_path
    )
    return output.exit_code(report)


def _select(request: RunRequest, system: str) -> list[Check]:
    """The manifest's checks the request names, once KVM is known to be there if needed."""
    manifest = selection.load_manifest(request.flake, system, request.nix_opts)
    checks = selection.select(manifest, system, list(request.names))
    doctor.require_kvm(checks, request.allow_tcg, remote=request.nix_opts.builds_remotely)
    return checks
