"""The suite runner's failure semantics, run on the composed script with stand-in machines.

No VM boots here: `server` and `client` are stand-ins for the NixOS test driver's machine
objects (nixpkgs code, not ours) that answer shell commands from a table, so these tests
exercise only our code: the runner (tests/e2e/runner/prelude.py), the scripts' control
flow and the judges. What a real VM answers is only known on a KVM machine.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import subprocess
import sys
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nixeval import REPO
from vmtest.scriptlint import compose_suite_script, load_suite, subtest_names

TOOL = REPO / "tests/e2e/report/vmtest_e2e.py"
TOPLEVEL = "/nix/store/" + "a" * 32 + "-nixos-system-server-26.05"
FACTS: dict[str, str] = {
    "check_system": "x86_64-linux",
    "uname_machine": platform.machine(),
    "vm_system": "x86_64-linux",
    "node_system": "x86_64-linux",
    "aarch64_system": "aarch64-linux",
    "aarch64_toplevel_drv": "/nix/store/" + "b" * 32 + "-nixos-system-nixos-vm.drv",
    "hostname": "nixos-vm",
    "test_user": "alice",
    "server_address": "192.168.1.2",
    "ssh_private_key": "/nix/store/" + "c" * 32 + "-privkey.snakeoil",
    "docker_image": "/nix/store/" + "d" * 32 + "-vmtest-hello.tar.gz",
    "docker_image_ref": "vmtest-hello:latest",
    "docker_image_output": "Hello, world!",
    "toplevel": TOPLEVEL,
    "state_version": "26.05",
    "configured_state_version": "26.05",
    "os_id": "nixos",
    "os_version_id": "26.05",
    "os_build_id": "26.05.20260814.02e0898",
    "failed_assertions_json": "[]",
    "warnings_json": "[]",
}
DENIED = "Permission denied (publickey).\n"
ANSWERS: list[tuple[str, tuple[int, str]]] = [
    (r"alice@\S+ 'id -un'", (0, "alice\n")),
    (r"(root|alice)@\S+ true", (255, f"x@192.168.1.2: {DENIED}")),
    (r"^id -nG alice$", (0, "alice users wheel docker\n")),
    (r"^sudo -l -U alice$", (0, "User alice may run:\n    (ALL : ALL) SETENV: ALL\n")),
    (r"docker run --rm --network none vmtest-hello:latest", (0, "Hello, world!\n")),
    (r"^cat /proc/sys/kernel/hostname$", (0, "nixos-vm\n")),
    (r"^uname -m$", (0, platform.machine() + "\n")),
    (r"^readlink -f /run/current-system$", (0, TOPLEVEL + "\n")),
    (
        r"^cat /etc/os-release$",
        (0, 'ID=nixos\nVERSION_ID="26.05"\nBUILD_ID=26.05.20260814.02e0898\n'),
    ),
    (r"^systemctl is-system-running --wait$", (0, "running\n")),
]


class StandInMachine:
    """Answers like the driver's machine object would, from a table of shell outputs."""

    def __init__(
        self, name: str, answers: list[tuple[str, tuple[int, str]]], down: set[str]
    ) -> None:
        self.name = name
        self.answers = answers
        self.down_units = down
        self.up = False
        self.starts = 0
        self.commands: list[str] = []

    def start(self, allow_reboot: bool = False) -> None:
        if not self.up:
            self.starts += 1
        self.up = True

    def is_up(self) -> bool:
        return self.up

    def shutdown(self) -> None:
        self.up = False

    def execute(self, command: str, check_return: bool = True, check_output: bool = True, timeout: int | None = 900) -> tuple[int, str]:  # fmt: skip
        assert self.up, f"{self.name} is not running"
        self.commands.append(command)
        for pattern, answer in self.answers:
            if re.search(pattern, command):
                return answer
        return 0, ""

    def succeed(self, *commands: str, timeout: int | None = None) -> str:
        output = ""
        for command in commands:
            status, out = self.execute(command, timeout=timeout)
            if status != 0:
                raise RuntimeError(f"command `{command}` failed (exit code {status})")
            output += out
        return output

    def wait_until_succeeds(self, command: str, timeout: int = 900) -> str:
        return self.succeed(command)

    def wait_for_unit(self, unit: str, user: str | None = None, timeout: int = 900) -> None:
        assert self.up, f"{self.name} is not running"
        if unit in self.down_units:
            raise RuntimeError(f'unit "{unit}" reached state "failed"')

    def wait_for_open_port(self, port: int, addr: str = "localhost", timeout: int = 900) -> None:
        assert self.up


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


class Driver:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir


def run_suite(
    tmp_path: Path,
    answers: list[tuple[str, tuple[int, str]]] = ANSWERS,
    server_down: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], dict[str, StandInMachine]]:
    text = compose_suite_script(REPO).text
    for name, value in FACTS.items():
        text = text.replace(f'"@{name}@"', json.dumps(value))
    assert not re.search(r'"@[a-z0-9_]+@"', text), "a fact placeholder is left"
    log = Log()

    @contextlib.contextmanager
    def subtest(name: str) -> Iterator[None]:
        # Like the driver: log the failure and re-raise it.
        try:
            yield
        except Exception as exc:
            log.info(f'Test "{name}" failed with error: "{exc}"')
            raise

    machines = {
        "server": StandInMachine("server", answers, set(server_down)),
        "client": StandInMachine("client", answers, set()),
    }
    symbols: dict[str, Any] = {
        "subtest": subtest,
        "driver": Driver(tmp_path),
        "log": log,
        "t": unittest.TestCase(),
        **machines,
    }
    exec(compile(text, "vmtest-suite-script", "exec"), symbols)  # noqa: S102  (as the driver does)
    return json.loads((tmp_path / "vmtest-results.json").read_text()), machines


def statuses(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: {s["name"]: s["status"] for s in c["subtests"]} for c in results["cases"]}


def expected_subtests() -> dict[str, list[str]]:
    return {
        name: subtest_names((REPO / s).read_text()) for name, s in load_suite(REPO).boot_scripts
    }


def judge(tmp_path: Path, results: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    results_file = tmp_path / "results-copy.json"
    results_file.write_text(json.dumps(results))
    expected = tmp_path / "expected.json"
    checks = [{"name": n, "subtests": s} for n, s in expected_subtests().items()]
    expected.write_text(json.dumps({"checks": checks}))
    argv = [sys.executable, str(TOOL), "suite", "--expected", str(expected)]
    argv += ["--results", str(results_file)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_every_booted_check_records_all_its_subtests_when_the_machines_answer(
    tmp_path: Path,
) -> None:
    results, machines = run_suite(tmp_path)
    expected = expected_subtests()
    assert [c["name"] for c in results["cases"]] == list(expected)
    for case in results["cases"]:
        assert case["status"] == "passed", case
        assert [s["name"] for s in case["subtests"]] == expected[case["name"]]
    # Two machines, each started once: the whole suite is two boots.
    assert {name: m.starts for name, m in machines.items()} == {"server": 1, "client": 1}
    assert not machines["server"].up  # vm-execution-test powered it off, last
    assert judge(tmp_path, results).returncode == 0


def test_a_failing_subtest_stops_its_check_and_the_other_checks_still_run(
    tmp_path: Path,
) -> None:
    answers = [(r"alice@\S+ 'id -un'", (255, DENIED)), *ANSWERS]
    results, _ = run_suite(tmp_path, answers)
    got = statuses(results)
    service = got["vm-service-test"]
    assert service == {
        "sshd is active and port 22 answers on the test network": "passed",
        "test user logs in from the client with the test key": "failed",
    }
    failed = next(c for c in results["cases"] if c["name"] == "vm-service-test")
    assert failed["status"] == "failed"
    assert "exit code 255" in failed["error"]
    for other in ["platform-validation-test", "vm-config-integrity-test", "vm-execution-test"]:
        assert set(got[other].values()) == {"passed"}, other
    report = judge(tmp_path, results)
    assert report.returncode == 1
    assert "vm-test-suite: FAILED (3 of 4 checks passed)" in report.stdout
    assert (
        "    not-run  root login over SSH is refused even with an authorized key\n" in report.stdout
    )


def test_accepted_root_login_fails_the_refusal_subtest(tmp_path: Path) -> None:
    answers = [(r"root@\S+ true", (0, "")), *ANSWERS]
    results, _ = run_suite(tmp_path, answers)
    service = statuses(results)["vm-service-test"]
    assert service["root login over SSH is refused even with an authorized key"] == "failed"
    assert "password login over SSH is refused" not in service


def test_password_offered_by_sshd_fails_the_password_subtest(tmp_path: Path) -> None:
    offered = (255, "alice@x: Permission denied (publickey,password).\n")
    answers = [(r"PubkeyAuthentication=no .*alice@\S+ true", offered), *ANSWERS]
    results, _ = run_suite(tmp_path, answers)
    assert statuses(results)["vm-service-test"]["password login over SSH is refused"] == "failed"


def test_a_server_that_never_boots_fails_every_booted_check_without_any_pass(
    tmp_path: Path,
) -> None:
    results, _ = run_suite(tmp_path, server_down=frozenset({"multi-user.target", "sshd.service"}))
    for case in results["cases"]:
        assert case["status"] == "failed", case["name"]
    got = statuses(results)
    assert got["vm-execution-test"] == {"server reaches multi-user.target": "failed"}
    # Subtests that need no VM (evaluation facts) still pass honestly; none after a failure.
    assert got["vm-config-integrity-test"] == {
        "no NixOS assertion fails": "passed",
        "configuration evaluates without warnings": "passed",
        "/run/current-system is the built system": "failed",
    }


def test_wrong_host_name_and_failed_unit_are_reported(tmp_path: Path) -> None:
    answers = [(r"^cat /proc/sys/kernel/hostname$", (0, "nixos\n")), *ANSWERS]
    results, _ = run_suite(tmp_path, answers)
    execution = statuses(results)["vm-execution-test"]
    assert execution["host name is the configured one"] == "failed"
    assert "server powers off cleanly" not in execution
