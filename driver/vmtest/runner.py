"""Orchestration: evaluate, build, feed the log parser; `vmtest.verdict` judges.

A run evaluates each selected check on its own (`nix path-info --derivation`: an exact
"evaluate" phase, and an evaluation error belongs to its check only), then
builds every derivation that evaluated in ONE `nix build --keep-going` whose
internal-json log streams into the log parser. Whatever happens (failure,
timeout, Ctrl-C) a `RunReport` comes back with what is known so far; the
caller writes it. The whole run shares one deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vmtest import __version__, nix, outcome
from vmtest.logparse import LogParser
from vmtest.manifest import Check
from vmtest.nixargv import NixOptions, NixVersion
from vmtest.process import Completed, TimedOut
from vmtest.progress import Display
from vmtest.results import CheckResult, RunReport, Status, overall_status
from vmtest.verdict import BuildRun, CheckRun, Judge


@dataclass(frozen=True)
class RunConfig:
    flake: str
    system: str
    nix_version: NixVersion
    nix_opts: NixOptions = field(default_factory=NixOptions)


def make_report(
    flake: str,
    system: str,
    started_at: datetime,
    t0: float,
    results: list[CheckResult],
    ending: Status | None,
) -> RunReport:
    """The run report of `results`; `t0` is the monotonic start, `ending` how the run
    was cut short (None when it ran to the end)."""
    interrupted = ending is Status.INTERRUPTED
    return RunReport(
        tool_version=__version__,
        flake=flake,
        system=system,
        started_at=started_at,
        duration=time.monotonic() - t0,
        status=overall_status(results, interrupted=interrupted),
        interrupted=interrupted,
        checks=results,
    )


class Runner:
    """Runs checks under one deadline and reports on them."""

    def __init__(self, cfg: RunConfig, display: Display, deadline: float | None) -> None:
        self.cfg = cfg
        self.display = display
        self.deadline = deadline
        self.build: BuildRun | None = None

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.001, self.deadline - time.monotonic())

    def run(self, checks: list[Check]) -> RunReport:
        started_at, t0 = datetime.now(UTC), time.monotonic()
        runs = [CheckRun(c, c.attr_for(self.cfg.system)) for c in checks]
        ending: Status | None = None
        try:
            for r in runs:
                self._evaluate(r)
            self._build([r for r in runs if r.drv is not None])
        except TimedOut:
            ending = Status.TIMED_OUT
        except KeyboardInterrupt:
            ending = Status.INTERRUPTED
        finally:
            self.display.close()
            if self.build is not None and self.build.ended is None:
                self.build.ended = time.monotonic()
        judge = Judge(self.build, self.cfg.nix_opts)
        results = [judge.result(r, ending) for r in runs]
        return make_report(self.cfg.flake, self.cfg.system, started_at, t0, results, ending)

    # -- evaluate

    def _evaluate(self, r: CheckRun) -> None:
        self.display.phase(f"evaluating {r.attr}")
        parser = LogParser()
        done = self._instantiate(r.attr, parser, self.cfg.nix_opts)
        drv = outcome.drv_path(done.stdout)
        if done.returncode == 0 and self.cfg.nix_opts.store is None and not Path(drv).exists():
            # A drvPath answered from Nix's evaluation cache after its .drv was garbage
            # collected: evaluate once more without the cache so the .drv is written again.
            no_cache = self.cfg.nix_opts.with_option("eval-cache", "false")
            done = self._instantiate(r.attr, parser, no_cache)
            drv = outcome.drv_path(done.stdout)
        parser.close()
        r.evaluate = done.seconds
        if done.returncode == 0 and drv.endswith(".drv"):
            r.drv = drv
            return
        r.eval_failure = outcome.eval_failure(parser, done)
        self.display.phase(f"{r.check.name}: {r.eval_failure.message}")

    def _instantiate(self, attr: str, parser: LogParser, opts: NixOptions) -> Completed:
        return nix.instantiate(self.cfg.flake, attr, opts, parser.feed, timeout=self.remaining())

    # -- build

    def _build(self, runs: list[CheckRun]) -> None:
        if not runs:
            return
        drvs = list(dict.fromkeys(r.drv for r in runs if r.drv))
        self.display.phase(f"building {len(drvs)} check{'s' if len(drvs) > 1 else ''}")
        build = self.build = BuildRun(LogParser(), time.monotonic())

        def on_line(line: str) -> None:
            for event in build.parser.feed(line):
                self.display.event(event, build.parser.progress)

        build.done = nix.build(
            drvs,
            self.cfg.nix_version,
            self.cfg.nix_opts,
            on_line=on_line,
            timeout=self.remaining(),
        )
        for event in build.parser.close():
            self.display.event(event, build.parser.progress)
        build.ended = time.monotonic()
        build.outputs = nix.parse_build_json(build.done.stdout)
