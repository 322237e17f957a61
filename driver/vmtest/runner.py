"""Orchestration: evaluate, build, feed the log parser, collect results.

A run evaluates each selected check on its own (`nix path-info --derivation`: an exact
"evaluate" phase, and an evaluation error belongs to its check only), then
builds every derivation that evaluated in ONE `nix build --keep-going` whose
internal-json log streams into the log parser. Whatever happens (failure,
timeout, Ctrl-C) a `RunReport` comes back with what is known so far; the
caller writes it. The whole run shares one deadline.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vmtest import __version__, collect, nix, outcome
from vmtest.findings import parse_findings
from vmtest.logevents import DerivationState
from vmtest.logparse import LogParser
from vmtest.manifest import Check
from vmtest.nixargv import NixOptions, NixVersion
from vmtest.process import Completed, TimedOut
from vmtest.progress import Display
from vmtest.results import (
    CheckResult,
    FailureInfo,
    Finding,
    PhaseTimes,
    RunReport,
    Status,
    SubtestResult,
    overall_status,
)

#: Lines of a failed build's stored log kept in the report (renderers cut further).
LOG_TAIL_LINES = 200


@dataclass(frozen=True)
class RunConfig:
    flake: str
    system: str
    nix_version: NixVersion
    nix_opts: NixOptions = field(default_factory=NixOptions)
    env: Mapping[str, str] | None = None


@dataclass
class _CheckRun:
    check: Check
    attr: str
    drv: str | None = None
    evaluate: float | None = None
    eval_failure: FailureInfo | None = None


@dataclass
class _Build:
    parser: LogParser
    started: float
    ended: float | None = None
    done: Completed | None = None
    outputs: dict[str, list[str]] = field(default_factory=dict)


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
        self.build: _Build | None = None
        self._outputs_cache: dict[str, list[str]] = {}

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.001, self.deadline - time.monotonic())

    def run(self, checks: list[Check]) -> RunReport:
        started_at, t0 = datetime.now(UTC), time.monotonic()
        runs = [_CheckRun(c, c.attr_for(self.cfg.system)) for c in checks]
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
        results = [self._result(r, ending) for r in runs]
        return make_report(self.cfg.flake, self.cfg.system, started_at, t0, results, ending)

    # -- evaluate

    def _evaluate(self, r: _CheckRun) -> None:
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
        self.display.phase(f"evaluation of {r.check.name} failed: {r.eval_failure.message}")

    def _instantiate(self, attr: str, parser: LogParser, opts: NixOptions) -> Completed:
        return nix.instantiate(
            self.cfg.flake, attr, opts, parser.feed, timeout=self.remaining(), env=self.cfg.env
        )

    # -- build

    def _build(self, runs: list[_CheckRun]) -> None:
        if not runs:
            return
        drvs = list(dict.fromkeys(r.drv for r in runs if r.drv))
        self.display.phase(f"building {len(drvs)} check{'s' if len(drvs) > 1 else ''}")
        build = self.build = _Build(LogParser(), time.monotonic())

        def on_line(line: str) -> None:
            for event in build.parser.feed(line):
                self.display.event(event, build.parser.progress)

        build.done = nix.build(
            drvs,
            self.cfg.nix_version,
            self.cfg.nix_opts,
            on_line=on_line,
            timeout=self.remaining(),
            env=self.cfg.env,
        )
        for event in build.parser.close():
            self.display.event(event, build.parser.progress)
        build.ended = time.monotonic()
        build.outputs = nix.parse_build_json(build.done.stdout)

    # -- results

    def _result(self, r: _CheckRun, ending: Status | None) -> CheckResult:
        if r.eval_failure is not None:
            return self._make(r, Status.EVAL_ERROR, None, failure=r.eval_failure)
        build = self.build
        if r.drv is None or build is None:
            return self._make(r, ending or Status.NOT_RUN, None)
        state = build.parser.derivation(r.drv)
        status = self._status(r.drv, build, state, ending)
        if status is Status.PASSED:
            outputs = build.outputs.get(r.drv) or self._valid_outputs(r.drv)
            if state is None and r.check.tier == "full":  # built before: see its stored log
                state = self._stored_state(r.drv)
            return self._make(
                r, status, state, artifacts=outputs, findings=outcome.output_findings(outputs)
            )
        failure = None
        if status is Status.FAILED:
            failure = self._failure(r.drv, build, state)
        elif ending is not None:  # its own log only: other checks' failures are theirs
            tail = build.parser.log_tail(r.drv)
            failure = FailureInfo(message=_ENDINGS[ending], drv_path=r.drv, log_tail=tail)
        return self._make(r, status, state, failure=failure)

    def _status(
        self, drv: str, build: _Build, state: DerivationState | None, ending: Status | None
    ) -> Status:
        if state is not None and state.failure is not None:
            return Status.FAILED
        if collect.driver_timed_out(state):
            return Status.TIMED_OUT
        if drv in build.outputs:
            return Status.PASSED
        # Nix 2.8 prints only the first failure of a --keep-going build and no JSON
        # when any failed: ask the store which derivations have their outputs now.
        if not self._valid_outputs(drv):
            return ending or Status.FAILED
        build.outputs[drv] = self._valid_outputs(drv)
        return Status.PASSED

    def _valid_outputs(self, drv: str) -> list[str]:
        if drv not in self._outputs_cache:
            self._outputs_cache[drv] = nix.valid_outputs(drv, self.cfg.nix_opts, self.cfg.env)
        return self._outputs_cache[drv]

    def _failure(self, drv: str, build: _Build, state: DerivationState | None) -> FailureInfo:
        """Why `drv` has no outputs: its own builder, or a dependency's."""
        failures = build.parser.failures
        own = next((f for f in failures if f.drv_path == drv), None)
        culprit = own.drv_path if own is not None else None
        if culprit is None and state is not None and state.started_at is not None:
            culprit = drv  # it ran and failed, but Nix did not say so (see _status)
        if culprit is None:
            deps = nix.requisites(drv, self.cfg.nix_opts, self.cfg.env)
            culprit = next((f.drv_path for f in failures if f.drv_path in deps), None)
        if culprit is None:
            message = "the build failed (Nix named no failing derivation; see its log)"
            return FailureInfo(message=message, drv_path=drv, log_tail=build.parser.log_tail(drv))
        info = collect.failure_info(build.parser, culprit)
        if info.drv_path != culprit:  # no failure message from Nix for it
            info = FailureInfo(
                message=f"builder for '{culprit}' failed", drv_path=culprit, log_tail=[]
            )
        stored: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        found = nix.read_log(culprit, self.cfg.nix_opts, stored.append, self.cfg.env)
        tail = list(stored) if found and stored else build.parser.log_tail(culprit)
        info = info.model_copy(update={"log_tail": tail})
        if culprit != drv:
            info = info.model_copy(update={"message": f"dependency failed: {info.message}"})
        return info

    def _stored_state(self, drv: str) -> DerivationState | None:
        state = outcome.StoredLog(drv)
        found = nix.read_log(drv, self.cfg.nix_opts, state.feed, self.cfg.env)
        return state.state if found else None

    def _driver_run(self, check: Check) -> DerivationState | None:
        """A full-tier check judged from a shared driver run: that run's boot/script times."""
        runs = collect.driver_runs(self.build.parser) if self.build else []
        return runs[-1] if runs and check.tier == "full" else None

    def _subtests(
        self,
        check: Check,
        status: Status,
        state: DerivationState | None,
        failure: FailureInfo | None,
        findings: list[Finding],
        artifacts: list[str],
    ) -> list[SubtestResult]:
        """Driver lines in the check's own log, else a judge's verdict text, else the
        quick tier's rule ids; nothing when none of them tells."""
        subtests = collect.subtest_results(state, status)
        if subtests:
            return subtests
        if check.tier == "full":
            text = "\n".join(failure.log_tail) if failure else outcome.output_text(artifacts)
            if text:
                return outcome.judge_subtests(check, text)
        return outcome.rule_subtests(check, status, findings, artifacts)

    def _make(
        self,
        r: _CheckRun,
        status: Status,
        state: DerivationState | None,
        *,
        failure: FailureInfo | None = None,
        artifacts: list[str] | None = None,
        findings: list[Finding] | None = None,
    ) -> CheckResult:
        build = self.build
        phases = PhaseTimes(evaluate=r.evaluate)
        total = r.evaluate
        if build is not None and r.drv is not None:
            built_now = build.parser.derivation(r.drv) is not None
            started = build.started if built_now or status is not Status.PASSED else None
            timed = state if state is None or state.is_vm_test else self._driver_run(r.check)
            phases = collect.phase_times(timed or state, r.evaluate, started, build.ended)
            if started is not None:  # wall time: evaluation plus this check's build
                until = (state.stopped_at if state else None) or build.ended or started
                total = (r.evaluate or 0.0) + max(0.0, until - started)
        if failure is not None and findings is None:
            findings = parse_findings("\n".join(failure.log_tail))
        subtests = self._subtests(r.check, status, state, failure, findings or [], artifacts or [])
        return CheckResult(
            name=r.check.name,
            attr=r.attr,
            status=status,
            duration=total,
            phases=phases,
            subtests=subtests,
            findings=findings or [],
            failure=failure,
            artifacts=artifacts or [],
        )


_ENDINGS = {
    Status.TIMED_OUT: "timed out before the check finished",
    Status.INTERRUPTED: "interrupted before the check finished",
}
