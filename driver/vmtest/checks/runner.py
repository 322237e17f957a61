"""Runs a selection: evaluate once, build each check on its own; `checks.decide` decides.

A run evaluates every selected check in ONE `nix eval` (the .drv path of each; a check
whose evaluation fails is then evaluated alone, so its error and position are its own),
asks which are built already, then builds each of the others in a `nix build` of its
own (`checks.builds`: side by side, as nix-fast-build does), whose internal-json log
streams into that check's log parser: each check's status, times and progress are its
own and live. Whatever happens (failure, timeout, Ctrl-C) a `RunReport` comes back with
what is known so far; the caller writes it. The whole run shares one deadline.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vmtest import __version__
from vmtest.checks import builds, details
from vmtest.checks.decide import BuildRun, CheckRun, Decider
from vmtest.checks.manifest import Check
from vmtest.checks.progress import Display, LogStream
from vmtest.nix import commands, dryrun, messages, process
from vmtest.nix.argv import NixOptions, NixVersion
from vmtest.nix.logevents import (
    BuildFailed,
    BuildFailure,
    BuildStarted,
    BuildStopped,
    Event,
    LogLine,
)
from vmtest.nix.logparse import LogParser
from vmtest.nix.process import Completed, TimedOut
from vmtest.report.model import CheckResult, RunReport, Status, overall_status


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

    def __init__(
        self,
        cfg: RunConfig,
        display: Display,
        deadline: float | None,
        print_logs: bool = False,
        jobs: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.display = display
        self.deadline = deadline
        self.jobs = jobs or builds.default_jobs()
        self.logs = LogStream() if print_logs else None
        #: Builds report from worker threads: one at a time on the display.
        self._lock = threading.Lock()
        self._scheduler = builds.Scheduler(self._build_one, self.jobs, deadline)
        #: Derivations built in this run: True with valid outputs, False when they failed.
        self._verdicts: dict[str, bool] = {}
        #: Builds that stopped with no outputs (yet) and no failure said (see _settle).
        self._stopped: dict[str, tuple[BuildRun, CheckRun, BuildStopped]] = {}

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.001, self.deadline - time.monotonic())

    def run(self, checks: list[Check]) -> RunReport:
        started_at, t0 = datetime.now(UTC), time.monotonic()
        runs = [CheckRun(c, c.attr_for(self.cfg.system)) for c in checks]
        ending: Status | None = None
        try:
            self._evaluate_and_plan(runs)
            ending = self._build([r for r in runs if r.drv is not None and not r.cached])
        except TimedOut:
            ending = Status.TIMED_OUT
        except KeyboardInterrupt:
            ending = Status.INTERRUPTED
        finally:
            self.display.close()
            if self.logs is not None:
                self.logs.close()
        decider = Decider(runs, self.cfg.nix_opts, ending)
        results = [decider.result(r) for r in runs]
        return make_report(self.cfg.flake, self.cfg.system, started_at, t0, results, ending)

    def plan(self, checks: list[Check]) -> list[CheckRun]:
        """`--dry-run`: evaluate and ask what each check would build; build nothing."""
        runs = [CheckRun(c, c.attr_for(self.cfg.system)) for c in checks]
        try:
            self._evaluate_and_plan(runs)
        finally:
            self.display.close()
        return runs

    # -- evaluate

    def _evaluate_and_plan(self, runs: list[CheckRun]) -> None:
        """Evaluate every check, then say which are built already (cache awareness)."""
        self._evaluate_all(runs)
        for r in runs:
            if r.drv is None:
                self._evaluate(r)
        drvs = [r.drv for r in runs if r.drv is not None]
        if not drvs:
            return
        plans = dryrun.plans(drvs, self.cfg.nix_opts, self.remaining())
        for r in runs:
            r.plan = plans.get(r.drv or "")
        built = [r.check.name for r in runs if r.cached]
        if built:
            self.display.phase(f"already built (cached): {', '.join(built)}")

    def _evaluate_all(self, runs: list[CheckRun]) -> None:
        """The .drv paths of all checks from one evaluation (the flake and its nixpkgs
        evaluated once); each check's `evaluate` time is that evaluation's."""
        root = f"checks.{self.cfg.system}"
        together = [r for r in runs if r.attr == f"{root}.{r.check.name}"]
        if len(together) < 2:
            return
        self.display.phase(f"evaluating {len(together)} checks")
        names = [r.check.name for r in together]
        paths, done = commands.drv_paths(
            self.cfg.flake, root, names, self.cfg.nix_opts, self.remaining()
        )
        for r, drv in zip(together, paths or [], strict=False):
            # A remote --store holds the .drv where this machine cannot look.
            if drv is not None and (self.cfg.nix_opts.store is not None or Path(drv).exists()):
                r.drv, r.evaluate = drv, done.seconds

    def _evaluate(self, r: CheckRun) -> None:
        """Evaluate one check alone: its error and position are its own."""
        self.display.phase(f"evaluating {r.attr}")
        parser = LogParser()
        done = self._instantiate(r.attr, parser, self.cfg.nix_opts)
        drv = details.drv_path(done.stdout)
        if done.returncode == 0 and self.cfg.nix_opts.store is None and not Path(drv).exists():
            # A drvPath answered from Nix's evaluation cache after its .drv was garbage
            # collected: evaluate once more without the cache so the .drv is written again.
            no_cache = self.cfg.nix_opts.with_option("eval-cache", "false")
            done = self._instantiate(r.attr, parser, no_cache)
            drv = details.drv_path(done.stdout)
        parser.close()
        r.evaluate = done.seconds
        if done.returncode == 0 and drv.endswith(".drv"):
            r.drv = drv
            return
        r.eval_failure = details.eval_failure(parser, done)
        self.display.phase(f"{r.check.name}: {r.eval_failure.message}")

    def _instantiate(self, attr: str, parser: LogParser, opts: NixOptions) -> Completed:
        return commands.instantiate(
            self.cfg.flake, attr, opts, parser.feed, timeout=self.remaining()
        )

    # -- build

    def _build(self, runs: list[CheckRun]) -> Status | None:
        """Build each check that is not built yet in its own `nix build`; cached ones need
        none (the decider reads their outputs from the store). Returns TIMED_OUT when the
        deadline passed before some build could start."""
        if not runs:
            return None
        n = len(runs)
        self.display.phase(f"building {n} check{'s' if n > 1 else ''}")
        self._scheduler = builds.Scheduler(self._build_one, self.jobs, self.deadline)
        return Status.TIMED_OUT if self._scheduler.run(runs) else None

    def _build_one(self, r: CheckRun) -> None:
        """One check's `nix build` (in a worker thread), its events shown as they come."""
        assert r.drv is not None
        build = r.build = BuildRun(LogParser(), time.monotonic())

        def on_line(line: str) -> None:
            with self._lock:
                for event in build.parser.feed(line):
                    self._on_event(event, r, build)

        try:
            build.done = commands.build(
                [r.drv], self.cfg.nix_version, self.cfg.nix_opts, on_line, self.remaining()
            )
        except TimedOut:
            build.ending = Status.TIMED_OUT
        except process.Stopped:
            build.ending = Status.INTERRUPTED
        finally:
            build.ended = time.monotonic()
            with self._lock:
                for event in build.parser.close():
                    self._on_event(event, r, build)
        self._after_build(r, build, build.done)

    def _after_build(self, r: CheckRun, build: BuildRun, done: Completed | None) -> None:
        """What Nix said at the end: outputs, a refusal; unsaid verdicts settled."""
        if done is not None and done.returncode != 0 and self._scheduler.stopping:
            build.ending = Status.INTERRUPTED  # stopped by vmtest (Ctrl-C), not failed
        if done is not None:
            build.outputs.update(commands.parse_build_json(done.stdout))
            build.refusal = next(
                (
                    refusal
                    for m in commands.error_messages(done.stderr_tail)
                    if (refusal := messages.feature_refusal(m)) is not None
                ),
                None,
            )
        with self._lock:
            if build.refusal is not None:
                self.display.phase(f"nix refused to build: {build.refusal.line}")
            self._settle(build)

    def _on_event(self, event: Event, r: CheckRun, build: BuildRun) -> None:
        """Show one log event of `r`'s build: with its own counts, and (-L) each log line
        under its name."""
        if isinstance(event, LogLine):
            if self.logs is not None:
                self.logs.line(r.check.name, event.line)
            return
        if isinstance(event, BuildFailed):
            self._verdicts[event.failure.drv_path] = False
            self._stopped.pop(event.failure.drv_path, None)
        elif isinstance(event, (BuildStarted, BuildStopped)):
            self._settle(build)
        if isinstance(event, BuildStopped):
            # Nix 2.8 stops a build's activity before it says the build failed, and says
            # nothing of a --keep-going build's later failures: only valid outputs say built.
            if event.drv_path in self._verdicts:  # its FAILED line came first
                return
            if not self._has_outputs(event.drv_path):
                self._stopped[event.drv_path] = (build, r, event)
                return
            self._verdicts[event.drv_path] = True
        self._show(event, r, build)

    def _settle(self, build: BuildRun) -> None:
        """Builds of `build` that stopped without outputs and that Nix said nothing more
        about: show them as finished if their outputs are valid by now, else as failed."""
        for drv, (owner, r, stopped) in list(self._stopped.items()):
            if owner is not build:
                continue
            del self._stopped[drv]
            self._verdicts[drv] = self._has_outputs(drv)
            unsaid = BuildFailed(BuildFailure(drv_path=drv, exit_code=None, message=""))
            self._show(stopped if self._verdicts[drv] else unsaid, r, build)

    def _has_outputs(self, drv: str) -> bool:
        return bool(commands.valid_outputs(drv, self.cfg.nix_opts))

    def _show(self, event: Event, r: CheckRun, build: BuildRun) -> None:
        own = None
        if isinstance(event, (BuildStopped, BuildFailed)) and r.plan is not None:
            own = f"{r.check.name}: {self._own_counts(r)}"
        self.display.event(event, build.parser.progress, own)

    def _own_counts(self, r: CheckRun) -> str:
        """`N of M derivations built, K failed` of the derivations `r` itself has to build
        (built: its outputs were valid after its build stopped)."""
        assert r.plan is not None
        verdicts = [self._verdicts.get(d) for d in r.plan.to_build]
        built, failed = verdicts.count(True), verdicts.count(False)
        text = f"{built} of {len(verdicts)} derivations built"
        return f"{text}, {failed} failed" if failed else text
