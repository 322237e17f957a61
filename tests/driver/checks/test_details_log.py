"""From recorded logs to result models (what the runner puts into the run report)."""

from __future__ import annotations

from conftest import FakeClock, only_drv, replay
from vmtest.checks.details import (
    driver_runs,
    driver_timed_out,
    failure_info,
    phase_times,
    subtest_results,
)
from vmtest.nix.logparse import LogParser
from vmtest.report.model import PhaseTimes, Status, SubtestResult


def test_subtests_of_a_failed_driver_run() -> None:
    parser, _ = replay("driver-fail.jsonl")
    state = parser.derivation(only_drv(parser, "-vm-test-run-driver-fail.drv"))
    assert subtest_results(state, Status.FAILED) == [
        SubtestResult(name="server boots", status=Status.PASSED, duration=23.0),
        SubtestResult(
            name="ssh login works",
            status=Status.FAILED,
            message="command `ssh -o BatchMode=yes alice@server true` failed (exit code 255)",
        ),
    ]
    assert subtest_results(None, Status.FAILED) == []


def test_a_subtest_cut_off_by_a_timeout_is_timed_out_not_passed() -> None:
    parser = LogParser(clock=FakeClock())
    drv = "/nix/store/" + "t" * 32 + "-vm-test-run-slow.drv"
    parser.feed(
        '@nix {"action":"start","fields":["' + drv + '","",1,1],"id":1,"level":3,'
        '"text":"building","type":105}'
    )
    for line in ["subtest: waits forever", "timeout reached; test terminating..."]:
        parser.feed('@nix {"action":"result","fields":["' + line + '"],"id":1,"type":101}')
    state = parser.derivation(drv)
    assert subtest_results(state, Status.TIMED_OUT) == [
        SubtestResult(name="waits forever", status=Status.TIMED_OUT, message="did not finish")
    ]
    assert subtest_results(state, Status.FAILED)[0].status is Status.FAILED
    assert driver_timed_out(state)


def test_phase_times_of_a_driver_run() -> None:
    parser, _ = replay("driver-pass.jsonl")
    state = parser.derivation(only_drv(parser, "-vm-test-run-driver-pass.drv"))
    assert state is not None and state.vm_start_at is not None
    phases = phase_times(state, evaluate=1.5, build_started_at=90.0, build_ended_at=500.0)
    assert phases.evaluate == 1.5
    assert phases.build == state.vm_start_at - 90.0
    # From "starting vm" to the shell connecting, by the (fake, 1 s a call) clock.
    assert phases.boot == state.boot_seconds() == 1.0
    assert phases.script is not None and abs(phases.script - (14.20 - 1.0)) < 1e-9


def test_phase_times_without_a_vm() -> None:
    parser, _ = replay("ok.jsonl")
    state = parser.derivation(only_drv(parser, "-ok.drv"))
    assert state is not None and state.stopped_at is not None
    phases = phase_times(
        state, evaluate=0.2, build_started_at=state.stopped_at - 3.0, build_ended_at=None
    )
    assert phases == PhaseTimes(evaluate=0.2, build=3.0)
    assert phase_times(None, 0.1, None, None) == PhaseTimes(evaluate=0.1)


def test_failure_info_names_the_failing_dependency() -> None:
    parser, _ = replay("dep-fail.jsonl")
    # The check itself never started: its dependency failed first.
    check_drv = "/nix/store/" + "n" * 32 + "-needs-dep.drv"
    assert parser.derivation(check_drv) is None
    info = failure_info(parser, check_drv)
    assert info.drv_path is not None and info.drv_path.endswith("-dep-fails.drv")
    assert info.exit_code == 2
    assert info.log_tail == ["about to fail"]
    assert info.eval_error is None


def test_failure_info_of_an_eval_error_keeps_the_position() -> None:
    parser, _ = replay("undefined-var.jsonl")
    info = failure_info(parser, None)
    assert info.message == "undefined variable 'undefinedThing'"
    assert info.eval_error is not None
    assert info.eval_error.file is not None and info.eval_error.file.endswith("/undefined.nix")
    assert (info.eval_error.line, info.eval_error.column) == (3, 41)
    assert info.drv_path is None


def test_failure_info_without_anything_in_the_log() -> None:
    info = failure_info(LogParser(), "/nix/store/x.drv", message="timed out after 30 s")
    assert info.message == "timed out after 30 s"
    assert info.drv_path == "/nix/store/x.drv"
    assert info.log_tail == []


def test_driver_runs_are_found_among_the_derivations() -> None:
    parser, _ = replay("driver-pass.jsonl")
    assert [s.drv_path for s in driver_runs(parser)] == [
        only_drv(parser, "-vm-test-run-driver-pass.drv")
    ]
    plain, _ = replay("bad.jsonl")
    assert driver_runs(plain) == []
