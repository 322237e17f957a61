"""Runs a selection: evaluate, build, feed the log parser; `checks.decide` makes the results.

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

from vmtest import __version__
from vmtest.checks import details
from vmtest.checks.decide import BuildRun, CheckRun, Decider
from vmtest.checks.manifest import Check
from vmtest.checks.progress import Display, LogStream
from vmtest.nix import commands, dryrun, messages
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
    ) -> None:
        self.cfg = cfg
        self.display = display
        self.deadline = deadline
        self.build: BuildRun | None = None
        self.logs = LogStream() if print_logs else None
        self._owners: dict[str, list[CheckRun]] = {}
        #: Derivations built in this run: True with valid outputs, False when they failed.
        self._verdicts: dict[str, bool] = {}
        #: Builds that stopped with no outputs (yet) and no failure said (see _settle).
        self._stopped: dict[str, BuildStopped] = {}

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
            self._build([r for r in runs if r.drv is not None])
        except TimedOut:
            ending = Status.TIMED_OUT
        except KeyboardInterrupt:
            ending = Status.INTERRUPTED
        finally:
            self.display.close()
            if self.logs is not None:
                self.logs.close()
            if self.build is not None and self.build.ended is None:
                self.build.ended = time.monotonic()
        decider = Decider(self.build, self.cfg.nix_opts)
        results = [decider.result(r, ending) for r in runs]
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
        for r in runs:
            self._evaluate(r)
        drvs = [r.drv for r in runs if r.drv is not None]
        if not drvs:
            return
        plans = dryrun.plans(drvs, self.cfg.nix_opts, self.remaining())
        for r in runs:
            r.plan = plans.get(r.drv or "")
            for drv in r.plan.to_build if r.plan else (r.drv or "",):
                self._owners.setdefault(drv, []).append(r)
        built = [r.check.name for r in runs if r.plan is not None and r.plan.built]
        if built:
            self.display.phase(f"already built (cached): {', '.join(built)}")

    def _evaluate(self, r: CheckRun) -> None:
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

    def _build(self, runs: list[CheckRun]) -> None:
        """Build the checks that are not built yet; cached ones need no `nix build` (the
        decider reads their outputs from the store)."""
        if not runs:
            return
        build = self.build = BuildRun(LogParser(), time.monotonic())
        drvs = list(dict.fromkeys(r.drv for r in runs if r.drv and not r.cached))
        if not drvs:
            build.ended = build.started
            return
        self.display.phase(f"building {len(drvs)} check{'s' if len(drvs) > 1 else ''}")

        def on_line(line: str) -> None:
            for event in build.parser.feed(line):
                self._on_event(event, build)

        # Nix stops the whole build when it refuses one derivation for missing system
        # features: build the others again without the checks that need it.
        while drvs:
            build.done = commands.build(
                drvs,
                self.cfg.nix_version,
                self.cfg.nix_opts,
                on_line=on_line,
                timeout=self.remaining(),
            )
            for event in build.parser.close():
                self._on_event(event, build)
            self._settle(build)
            build.outputs.update(commands.parse_build_json(build.done.stdout))
            refused = [
                r
                for m in commands.error_messages(build.done.stderr_tail)
                if (r := messages.feature_refusal(m)) and r.drv_path not in build.refusals
            ]
            if build.done.returncode == 0 or not refused:
                break
            for refusal in refused:
                build.refusals[refusal.drv_path] = refusal
                self.display.phase(f"nix refused to build: {refusal.line}")
            drvs = [r.drv for r in runs if r.drv in drvs and self._build_again(r, build)]
        build.ended = time.monotonic()

    def _build_again(self, r: CheckRun, build: BuildRun) -> bool:
        """After Nix stopped at a refusal: build `r` again unless it needs what Nix refused
        or its own build already ended (a failed build is not worth a second run)."""
        state = build.parser.derivation(r.drv) if r.drv else None
        if r.drv in build.outputs or (state is not None and state.failure is not None):
            return False
        return build.refusal_for(r, self.cfg.nix_opts) is None

    def _on_event(self, event: Event, build: BuildRun) -> None:
        """Show one log event: with the counts of the checks it belongs to, and (-L) each
        log line under the name of its check."""
        if isinstance(event, LogLine):
            if self.logs is not None:
                owners = self._owners.get(event.drv_path)
                self.logs.line(owners[0].check.name if owners else "nix", event.line)
            return
        if isinstance(event, BuildFailed):
            self._verdicts[event.failure.drv_path] = False
            self._stopped.pop(event.failure.drv_path, None)
        elif isinstance(event, (BuildStarted, BuildStopped)):
            self._settle(build)
        if isinstance(event, BuildStopped) and event.drv_path in self._owners:
            # Nix 2.8 stops a build's activity before it says the build failed, and says
            # nothing of a --keep-going build's later failures: only valid outputs say built.
            if event.drv_path in self._verdicts:  # its FAILED line came first
                return
            if not self._has_outputs(event.drv_path):
                self._stopped[event.drv_path] = event
                return
            self._verdicts[event.drv_path] = True
        self._show(event, build)

    def _settle(self, build: BuildRun) -> None:
        """Builds that stopped without outputs and that Nix said nothing more about: show
        them as finished if their outputs are valid by now, else as failed."""
        for drv, stopped in list(self._stopped.items()):
            del self._stopped[drv]
            self._verdicts[drv] = self._has_outputs(drv)
            unsaid = BuildFailed(BuildFailure(drv_path=drv, exit_code=None, message=""))
            self._show(stopped if self._verdicts[drv] else unsaid, build)

    def _has_outputs(self, drv: str) -> bool:
        return bool(commands.valid_outputs(drv, self.cfg.nix_opts))

    def _show(self, event: Event, build: BuildRun) -> None:
        own = None
        if isinstance(event, (BuildStopped, BuildFailed)):
            drv = event.drv_path if isinstance(event, BuildStopped) else event.failure.drv_path
            own = "; ".join(
                f"{r.check.name}: {self._own_counts(r)}"
                for r in self._owners.get(drv, [])
                if r.plan is not None
            )
        self.display.event(event, build.parser.progress, own or None)

    def _own_counts(self, r: CheckRun) -> str:
        """`N of M derivations built, K failed` of the derivations `r` itself has to build
        (built: its outputs were valid after its build stopped)."""
        assert r.plan is not None
        verdicts = [self._verdicts.get(d) for d in r.plan.to_build]
        built, failed = verdicts.count(True), verdicts.count(False)
        text = f"{built} of {len(verdicts)} derivations built"
        return f"{text}, {failed} failed" if failed else text
