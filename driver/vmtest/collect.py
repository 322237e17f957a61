"""Turn what the log parser saw into result models (pure; the runner calls these).

The runner knows which derivation belongs to which check and how the build
ended (exit status, timeout, Ctrl-C); these helpers add what the log told:
subtests, boot/script phases, the failing derivation, its log tail and the
evaluation error with its position.
"""

from __future__ import annotations

from vmtest.logevents import DerivationState, EvalError
from vmtest.logparse import LogParser
from vmtest.results import EvalErrorInfo, FailureInfo, PhaseTimes, Status, SubtestResult

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
