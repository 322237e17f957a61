"""The internal-json log parser on nix output recorded here (Nix 2.8, see fixtures/logs/)."""

from __future__ import annotations

import pytest
from conftest import LOGS, only_drv, replay
from vmtest.nix import driverlog, messages
from vmtest.nix.dryrun import parse_dry_run
from vmtest.nix.logevents import (
    BuildFailed,
    BuildStarted,
    BuildStopped,
    EvalFailed,
    Event,
    LogLine,
    NixMessage,
    SubtestFinished,
    SubtestStarted,
    VmBooted,
    VmStarting,
)
from vmtest.nix.logparse import LogParser
from vmtest.report.findings import parse_findings


def test_recorded_with_nix_2_8() -> None:
    assert (LOGS / "NIX_VERSION").read_text().startswith("nix (Nix) 2.8")


def test_passing_build() -> None:
    parser, events = replay("ok.jsonl")
    drv = only_drv(parser, "-ok.drv")
    assert parser.failures == []
    assert parser.eval_errors == []
    assert parser.log_tail(drv) == ["building ok", "second line"]
    assert BuildStarted(drv) in events and BuildStopped(drv) in events
    assert [e.line for e in events if isinstance(e, LogLine)] == ["building ok", "second line"]
    assert parser.progress.builds_done == 1
    assert parser.progress.builds_expected == 1
    assert parser.progress.builds_failed == 0


def test_failing_build_exit_code_and_bounded_tail() -> None:
    parser, events = replay("bad.jsonl", tail_lines=10)
    drv = only_drv(parser, "-bad.drv")
    [failure] = parser.failures
    assert failure.drv_path == drv
    assert failure.exit_code == 3
    assert failure.signal is None
    assert failure.message == f"builder for '{drv}' failed with exit code 3"
    assert parser.log_tail(drv) == [f"log line {i}" for i in range(51, 61)]
    assert BuildFailed(failure) in events
    assert parser.eval_errors == []
    assert parser.progress.builds_failed == 1


def test_killed_builder_reports_the_signal() -> None:
    parser, _ = replay("killed.jsonl")
    [failure] = parser.failures
    assert failure.drv_path.endswith("-killed.drv")
    assert failure.exit_code is None
    assert failure.signal == 9
    assert parser.log_tail(failure.drv_path) == ["going down"]


def test_dependency_failure_names_the_dependency_not_a_summary() -> None:
    parser, events = replay("dep-fail.jsonl")
    [failure] = parser.failures
    assert failure.drv_path.endswith("-dep-fails.drv")
    assert failure.exit_code == 2
    assert parser.log_tail(failure.drv_path) == ["about to fail"]
    assert parser.eval_errors == []
    summaries = [e.text for e in events if isinstance(e, NixMessage) and e.level == 0]
    assert any("dependencies of derivation" in s and "needs-dep.drv" in s for s in summaries)


def test_quick_tier_findings_come_through_the_log_tail() -> None:
    parser, _ = replay("findings.jsonl")
    [failure] = parser.failures
    assert failure.drv_path.endswith("-unit-vm-analysis.drv")
    findings = parse_findings("\n".join(parser.log_tail(failure.drv_path)))
    assert [(f.severity, f.id) for f in findings] == [
        ("error", "docker-enabled"),
        ("error", "openssh-package"),
        ("warning", "ssh-password-auth"),
    ]


def test_driver_subtests_boot_and_script_of_a_passing_test() -> None:
    parser, events = replay("driver-pass.jsonl")
    state = parser.derivation(only_drv(parser, "-vm-test-run-driver-pass.drv"))
    assert state is not None and state.is_vm_test
    assert [(s.name, s.passed, s.duration) for s in state.subtests.values()] == [
        ("sshd is running", True, 13.02),
        ("docker works", True, 0.53),
    ]
    # Boot: "starting vm" to "connected to guest root shell" by the clock (1 s a clock call);
    # the driver's 12.35 s is how long the script waited for it.
    assert state.boot_waits == {"machine": 12.35}
    assert state.boot_seconds() == 1.0
    assert state.script_seconds() == pytest.approx(14.20 - 1.0)
    assert parser.failures == []
    drv = state.drv_path
    assert [e for e in events if isinstance(e, SubtestStarted)] == [
        SubtestStarted(drv, "sshd is running"),
        SubtestStarted(drv, "docker works"),
    ]
    assert VmStarting(drv, "machine") in events
    assert VmBooted(drv, "machine", 1.0) in events


def test_driver_failed_subtest_message_and_two_machines() -> None:
    parser, events = replay("driver-fail.jsonl")
    drv = only_drv(parser, "-vm-test-run-driver-fail.drv")
    state = parser.derivation(drv)
    assert state is not None
    subs = list(state.subtests.values())
    assert [(s.name, s.passed) for s in subs] == [
        ("server boots", True),
        ("ssh login works", False),
    ]
    assert (
        subs[1].message == "command `ssh -o BatchMode=yes alice@server true` failed (exit code 255)"
    )
    assert subs[1].duration is None  # the driver prints no "finished" line for a failed block
    assert state.boot_waits == {"server": 20.5, "client": 22.75}
    # Both started by start_all(); the boot phase ends when the last shell connected.
    assert state.vm_started["client"] - state.vm_started["server"] == 1.0
    boot = max(state.vm_connected.values()) - state.vm_started["server"]
    assert state.boot_seconds() == boot > 0
    # No "(finished: run the VM test script" line: the script time comes from the clock.
    script = state.script_seconds()
    assert script is not None and script >= 0
    [failure] = parser.failures
    assert (failure.drv_path, failure.exit_code) == (drv, 1)
    finished = [e for e in events if isinstance(e, SubtestFinished)]
    assert [(e.name, e.passed) for e in finished] == [
        ("server boots", True),
        ("ssh login works", False),
    ]


def test_eval_error_with_position_from_the_json_record() -> None:
    parser, events = replay("undefined-var.jsonl")
    [error] = parser.eval_errors
    assert error.message == "undefined variable 'undefinedThing'"
    assert error.file is not None and error.file.endswith("-source/undefined.nix")
    assert error.file.startswith("/nix/store/")
    assert (error.line, error.column) == (3, 41)
    assert "\x1b" not in error.detail
    assert parser.failures == []
    assert EvalFailed(error) in events


def test_assertion_failure_position() -> None:
    parser, _ = replay("assert-fail.jsonl")
    [error] = parser.eval_errors
    assert error.message == "assertion 'ok' failed"
    assert error.file is not None and error.file.endswith("-source/lib.nix")
    assert (error.line, error.column) == (3, 24)


def test_throw_without_position_and_the_show_trace_hint_is_not_an_error() -> None:
    parser, events = replay("throws.jsonl")
    [error] = parser.eval_errors
    assert error.message == "boom from lib.nix"
    assert error.file is None and error.line is None
    hints = [e.text for e in events if isinstance(e, NixMessage) and "--show-trace" in e.text]
    assert hints


def test_throw_with_show_trace_uses_the_innermost_trace_position() -> None:
    parser, _ = replay("throws.show-trace.jsonl")
    [error] = parser.eval_errors
    assert error.message == "boom from lib.nix"
    assert error.file is not None and error.file.endswith("-source/lib.nix")
    assert (error.line, error.column) == (2, 10)


def test_missing_attribute_is_an_error_without_position() -> None:
    parser, _ = replay("missing-attr.jsonl")
    [error] = parser.eval_errors
    assert error.message.startswith(
        "flake 'path:/tmp/vmtest-logs-fixture' does not provide attribute"
    )
    assert error.file is None


def test_plain_text_build_failure() -> None:
    parser, _ = replay("bad.plain.txt")
    [failure] = parser.failures
    assert failure.drv_path.endswith("-bad.drv")
    assert failure.exit_code == 3
    assert parser.eval_errors == []


def test_plain_text_eval_error_position_from_the_text() -> None:
    parser, _ = replay("undefined-var.plain.txt")
    [error] = parser.eval_errors
    assert error.message == "undefined variable 'undefinedThing'"
    assert error.file is not None and error.file.endswith("-source/undefined.nix")
    assert (error.line, error.column) == (3, 41)


# Nix 2.26 / newer wordings, written from NixOS/nix sources (not recordable here).


def test_newer_cannot_build_wording() -> None:
    drv = "/nix/store/" + "a" * 32 + "-vm-test-run-x.drv"
    parser = LogParser()
    line = (
        '@nix {"action":"msg","level":0,"msg":"error: Cannot build \'' + drv + "'.\\n"
        '       Reason: builder failed with exit code 1.\\n       Output paths:\\n"}'
    )
    parser.feed(line)
    [failure] = parser.failures
    assert (failure.drv_path, failure.exit_code) == (drv, 1)


@pytest.mark.parametrize(
    "text",
    [
        "error: Cannot build '/nix/store/x-ci.drv'.\\n       Reason: 1 dependency failed.",
        "error: 2 dependencies of derivation '/nix/store/x-ci.drv' failed to build",
        "error: build of '/nix/store/x-ci.drv^*' failed",
        "error: interrupted by the user",
    ],
)
def test_summaries_and_interrupts_are_neither_failures_nor_eval_errors(text: str) -> None:
    parser = LogParser()
    events = parser.feed('@nix {"action":"msg","level":0,"msg":"' + text + '"}')
    assert parser.failures == [] and parser.eval_errors == []
    assert [type(e) for e in events] == [NixMessage]


def test_newer_wording_behind_build_of_prefix() -> None:
    drv = "/nix/store/" + "b" * 32 + "-x.drv"
    parser = LogParser()
    msg = f"error: build of '{drv}^*' failed: Cannot build '{drv}'.\\n  Reason: builder failed"
    parser.feed(
        '@nix {"action":"msg","level":0,"msg":"' + msg + ' due to signal 15 (Terminated)."}'
    )
    [failure] = parser.failures
    assert (failure.drv_path, failure.exit_code, failure.signal) == (drv, None, 15)


def test_lazy_tree_position_in_text_and_parent_field() -> None:
    parser = LogParser()
    text = (
        "error:\\n       … while evaluating the attribute 'x'\\n"
        "         at «github:o/r/abc»/flake.nix:3:5:\\n\\n"
        "       error: undefined variable 'y'\\n"
        "       at «github:o/r/abc»/tests/unit/rules.nix:12:7:\\n"
    )
    parser.feed('@nix {"action":"msg","level":0,"msg":"' + text + '"}')
    parser.feed('@nix {"action":"start","id":5,"level":3,"parent":4,"text":"t","type":0}')
    [error] = parser.eval_errors
    assert error.message == "undefined variable 'y'"
    assert (error.file, error.line, error.column) == (
        "«github:o/r/abc»/tests/unit/rules.nix",
        12,
        7,
    )
    assert parser.progress.activity == "t"


def test_garbage_lines_do_not_break_the_parser() -> None:
    parser = LogParser()
    events: list[Event] = []
    lines: list[str | bytes] = ["@nix {not json", "@nix [1, 2]", "", "\x1b[31mplain\x1b[0m\r"]
    for line in [*lines, b"\xff\xfe"]:
        events.extend(parser.feed(line))
    assert parser.failures == [] and parser.eval_errors == []
    assert NixMessage(3, "plain") in events


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "(finished: subtest: a, b: c, in 2.50 seconds)",
            driverlog.DriverLine(driverlog.Kind.SUBTEST_END, name="a, b: c", seconds=2.5),
        ),
        (
            'Test "say "hi"" failed with error: "first line of',
            driverlog.DriverLine(
                driverlog.Kind.SUBTEST_FAILED, name='say "hi"', message="first line of"
            ),
        ),
        (
            "vm-server_1: starting vm",
            driverlog.DriverLine(driverlog.Kind.VM_STARTING, machine="vm-server_1"),
        ),
        ("machine # [ 1.0] subtest: x", None),
        ("machine: must succeed: true", None),
        ("timeout reached; test terminating...", driverlog.DriverLine(driverlog.Kind.TIMEOUT)),
    ],
)
def test_driver_line_shapes(line: str, expected: driverlog.DriverLine | None) -> None:
    assert driverlog.classify(line) == expected


def test_memory_stays_bounded_on_a_large_log() -> None:
    """2,000 derivations x 200 lines, one failing early: tails and state stay bounded."""
    parser = LogParser(tail_lines=20, max_derivations=64)
    long_line = "x" * 100_000
    for n in range(2000):
        drv = f"/nix/store/{n:032d}-d{n}.drv"
        parser.feed(
            '@nix {"action":"start","fields":["'
            + drv
            + '","",1,1],"id":'
            + str(n)
            + ',"level":3,"text":"building","type":105}'
        )
        for i in range(200):
            parser.feed(f'@nix {{"action":"result","fields":["l{i}"],"id":{n},"type":101}}')
        if n == 3:
            parser.feed(f'@nix {{"action":"result","fields":["{long_line}"],"id":{n},"type":101}}')
            parser.feed(
                '@nix {"action":"msg","level":0,"msg":"error: builder for \''
                + drv
                + "' failed with exit code 7\"}"
            )
        parser.feed(f'@nix {{"action":"stop","id":{n}}}')
    states = parser.derivations()
    assert len(states) <= 64
    assert all(len(s.tail) <= 20 for s in states)
    failed = parser.derivation(f"/nix/store/{3:032d}-d3.drv")
    assert failed is not None and failed.failure is not None  # failed ones are kept
    assert max(len(line) for line in failed.tail) < 5000
    assert parser.log_tail(f"/nix/store/{1999:032d}-d1999.drv")[-1] == "l199"
    assert parser.lines_seen == 2000 * 202 + 2


def test_nix_refusing_a_build_for_missing_features_in_both_wordings() -> None:
    # Nix 2.8, as recorded here (tests/driver/test_cli_env.py gets it for real).
    old = (
        "error: a 'x86_64-linux' with features {kvm, nixos-test} is required to build "
        "'/nix/store/" + "a" * 32 + "-vm-test-run-x.drv', but I am a 'x86_64-linux' with "
        "features {benchmark, big-parallel, kvm}"
    )
    # Newer Nix (libstore's derivation building goal, as stored by the search tool).
    new = (
        "error: Cannot build '/nix/store/" + "a" * 32 + "-vm-test-run-x.drv'.\n"
        "       Reason: required system or feature not available\n"
        "       Required system: 'x86_64-linux' with features {kvm, nixos-test}\n"
        "       Current system: 'x86_64-linux' with features {benchmark, big-parallel, kvm}"
    )
    for text in (old, new):
        refusal = messages.feature_refusal(text)
        assert refusal is not None, text
        assert refusal.drv_path == "/nix/store/" + "a" * 32 + "-vm-test-run-x.drv"
        assert refusal.missing == ("nixos-test",)
        assert 'add "extra-system-features = nixos-test" to nix.conf' in refusal.fix
        assert messages.builder_failure(text) is None  # not mistaken for a builder failure
    assert messages.feature_refusal("error: builder for '/nix/store/x.drv' failed") is None


def test_dry_run_lists_what_would_be_built_and_fetched() -> None:
    lines = [
        "these 2 derivations will be built:",
        "  /nix/store/" + "b" * 32 + "-dep.drv",
        "  /nix/store/" + "c" * 32 + "-check.drv",
        "this path will be fetched (0.01 MiB download, 0.05 MiB unpacked):",
        "  /nix/store/" + "d" * 32 + "-source",
    ]
    plan = parse_dry_run(lines)
    assert [p[44:] for p in plan.to_build] == ["dep.drv", "check.drv"]
    assert [p[44:] for p in plan.to_fetch] == ["source"]
    assert not plan.built and parse_dry_run([]).built
