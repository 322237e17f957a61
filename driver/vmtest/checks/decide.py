"""Decides each check's result (status, failure, phases, subtests) from what Nix said.

The runner evaluates and builds; `Decider` turns what it saw (each check's evaluation,
the one build's parsed log and `--json` outputs, how the run ended) into
`CheckResult`s. Where Nix's log is silent (Nix 2.8 reports only the first failure of
a `--keep-going` build, and prints no JSON when any failed; a check built before
logs nothing now) it asks the store: valid outputs, requisites, the stored log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vmtest.checks import details
from vmtest.checks.manifest import Check
from vmtest.nix import commands
from vmtest.nix.argv import NixOptions
from vmtest.nix.dryrun import Plan
from vmtest.nix.logevents import DerivationState
from vmtest.nix.logparse import LogParser
from vmtest.nix.messages import FeatureRefusal
from vmtest.nix.process import Completed
from vmtest.report.findings import parse_findings
from vmtest.report.model import (
    CheckResult,
    FailureInfo,
    Finding,
    PhaseTimes,
    Status,
    SubtestResult,
)

#: Lines of a failed build's stored log kept in the report (renderers cut further).
LOG_TAIL_LINES = 200


@dataclass
class CheckRun:
    """One selected check: its attribute, and how its evaluation went."""

    check: Check
    attr: str
    drv: str | None = None
    evaluate: float | None = None
    eval_failure: FailureInfo | None = None
    plan: Plan | None = None  # what building it needed (None: nix did not say)

    @property
    def cached(self) -> bool:
        """Its outputs were in the store before this run: nothing was built for it."""
        return self.plan is not None and self.plan.built


@dataclass
class BuildRun:
    """The run's one `nix build`: its log parser, its times and what it printed."""

    parser: LogParser
    started: float
    ended: float | None = None
    done: Completed | None = None
    outputs: dict[str, list[str]] = field(default_factory=dict)
    #: Derivations Nix would not build here (missing system features), and its words.
    refusals: dict[str, FeatureRefusal] = field(default_factory=dict)

    def refusal_for(self, r: CheckRun, nix_opts: NixOptions) -> FeatureRefusal | None:
        """Nix's refusal of a derivation `r` needs (its own or one it builds first)."""
        if r.drv is None or not self.refusals or r.drv in self.outputs:
            return None
        needs = [r.drv, *(r.plan.to_build if r.plan else commands.requisites(r.drv, nix_opts))]
        return next((self.refusals[d] for d in needs if d in self.refusals), None)


class Decider:
    """Results of the checks of one run (`build` is None when nothing was built)."""

    def __init__(self, build: BuildRun | None, nix_opts: NixOptions) -> None:
        self.build = build
        self.nix_opts = nix_opts
        self._outputs_cache: dict[str, list[str]] = {}

    def result(self, r: CheckRun, ending: Status | None) -> CheckResult:
        if r.eval_failure is not None:
            return self._make(r, Status.EVAL_ERROR, None, failure=r.eval_failure)
        build = self.build
        if r.drv is None or build is None:
            return self._make(r, ending or Status.NOT_RUN, None)
        state = build.parser.derivation(r.drv)
        refusal = build.refusal_for(r, self.nix_opts)
        if refusal is not None:
            refused = FailureInfo(
                message=f"nix refused to build it: {refusal.line}; fix: {refusal.fix}",
                drv_path=refusal.drv_path,
            )
            # Not a failure of the check: this machine cannot build it (exit 3 unless
            # another check failed), as with a KVM check on a machine without KVM.
            return self._make(r, Status.NOT_RUN, state, failure=refused)
        status = self._status(r.drv, build, state, ending)
        if status is Status.PASSED:
            outputs = build.outputs.get(r.drv) or self._valid_outputs(r.drv)
            if state is None and r.check.tier == "full":  # built before: see its stored log
                state = self._stored_state(r.drv)
            return self._make(
                r, status, state, artifacts=outputs, findings=details.output_findings(outputs)
            )
        failure = None
        if status is Status.FAILED:
            failure = self._failure(r.drv, build, state)
        elif ending is not None:  # its own log only: other checks' failures are theirs
            tail = build.parser.log_tail(r.drv)
            failure = FailureInfo(message=_ENDINGS[ending], drv_path=r.drv, log_tail=tail)
        return self._make(r, status, state, failure=failure)

    def _status(
        self, drv: str, build: BuildRun, state: DerivationState | None, ending: Status | None
    ) -> Status:
        if state is not None and state.failure is not None:
            return Status.FAILED
        if details.driver_timed_out(state):
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
            self._outputs_cache[drv] = commands.valid_outputs(drv, self.nix_opts)
        return self._outputs_cache[drv]

    def _failure(self, drv: str, build: BuildRun, state: DerivationState | None) -> FailureInfo:
        """Why `drv` has no outputs: its own builder, or a dependency's."""
        failures = build.parser.failures
        culprit = drv if any(f.drv_path == drv for f in failures) else None
        if culprit is None and state is not None and state.started_at is not None:
            culprit = drv  # it ran and failed, but Nix did not say so (see _status)
        if culprit is None:
            deps = commands.requisites(drv, self.nix_opts)
            culprit = next((f.drv_path for f in failures if f.drv_path in deps), None)
        if culprit is None:
            message = "the build failed (Nix named no failing derivation; see its log)"
            return FailureInfo(message=message, drv_path=drv, log_tail=build.parser.log_tail(drv))
        said = next((f for f in failures if f.drv_path == culprit), None)
        message = said.message if said is not None else f"builder for '{culprit}' failed"
        stored: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        found = commands.read_log(culprit, self.nix_opts, stored.append)
        return FailureInfo(
            message=message if culprit == drv else f"dependency failed: {message}",
            drv_path=culprit,
            exit_code=said.exit_code if said is not None else None,
            log_tail=list(stored) if found and stored else build.parser.log_tail(culprit),
        )

    def _stored_state(self, drv: str) -> DerivationState | None:
        state = details.StoredLog(drv)
        found = commands.read_log(drv, self.nix_opts, state.feed)
        return state.state if found else None

    def _subtests(
        self,
        check: Check,
        status: Status,
        state: DerivationState | None,
        failure: FailureInfo | None,
        findings: list[Finding],
        artifacts: list[str],
    ) -> list[SubtestResult]:
        """Driver lines in the check's own log; for a suite, its text report when it was
        built, else its checks' own driver logs in this build; else the quick tier's rule
        ids; nothing when none of them tells."""
        subtests = details.subtest_results(state, status)
        if subtests:
            return details.with_failure_details(subtests, failure.log_tail if failure else [])
        if check.tier == "full":
            if failure is None:
                text = details.output_text(artifacts)
                return details.suite_text_subtests(check, text) if text else []
            if self.build is not None:
                return details.suite_subtests(check.subtests, self.build.parser, status)
        return details.rule_subtests(check, status, findings, artifacts)

    def _make(
        self,
        r: CheckRun,
        status: Status,
        state: DerivationState | None,
        *,
        failure: FailureInfo | None = None,
        artifacts: list[str] | None = None,
        findings: list[Finding] | None = None,
    ) -> CheckResult:
        phases, total = self._times(r, status, state)
        if failure is not None and findings is None:
            findings = parse_findings("\n".join(failure.log_tail))
            if status is Status.FAILED and failure.drv_path == r.drv:
                failure = _with_issues_message(failure, findings)
        subtests = self._subtests(r.check, status, state, failure, findings or [], artifacts or [])
        return CheckResult(
            name=r.check.name,
            attr=r.attr,
            status=status,
            cached=r.cached and status is Status.PASSED,
            duration=total,
            phases=phases,
            subtests=subtests,
            findings=findings or [],
            failure=failure,
            artifacts=artifacts or [],
        )

    def _times(
        self, r: CheckRun, status: Status, state: DerivationState | None
    ) -> tuple[PhaseTimes, float | None]:
        """The check's phases, and its wall time: evaluation plus its part of the build."""
        build = self.build
        if build is None or r.drv is None or (r.cached and status is Status.PASSED):
            return PhaseTimes(evaluate=r.evaluate), r.evaluate  # cached: no boot, no script
        built_now = build.parser.derivation(r.drv) is not None
        started = build.started if built_now or status is not Status.PASSED else None
        if started is not None and r.plan is not None:  # its own first build, not the batch's
            starts = [s.started_at for d in r.plan.to_build if (s := build.parser.derivation(d))]
            started = min((t for t in starts if t is not None), default=started)
        # Boot and script phases are a check's own: a suite that only depends on booted
        # checks has none (they ran side by side in their own derivations).
        phases = details.phase_times(state, r.evaluate, started, build.ended)
        if started is None:
            return phases, r.evaluate
        until = (state.stopped_at if state else None) or build.ended or started
        return phases, (r.evaluate or 0.0) + max(0.0, until - started)


def _with_issues_message(failure: FailureInfo, findings: list[Finding]) -> FailureInfo:
    """A check whose own builder failed listing error findings (the quick tier's analysis)
    failed because of them: say so instead of "builder for '...' failed"."""
    rules = list(dict.fromkeys(f.id or f.message for f in findings if f.severity == "error"))
    if not rules:
        return failure
    issues = f"{len(rules)} issue{'s' if len(rules) > 1 else ''}"
    return failure.model_copy(
        update={"message": f"VM configuration has {issues} ({', '.join(rules)})"}
    )


_ENDINGS = {
    Status.TIMED_OUT: "timed out before the check finished",
    Status.INTERRUPTED: "interrupted before the check finished",
}
