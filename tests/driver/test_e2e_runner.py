"""Each booted check's testScript, run for real by a stand-in driver against stand-in guests.

The script text is the one the driver gets (vmtest.scriptlint.compose: generated line,
tests/e2e/script-header.py, the check's script). The driver and its machines are
stand-ins (fixtures/e2e/stand-in-driver: nixpkgs' failure semantics, shell answers from a
table), so these tests exercise our code only: the header's facts, results file and last
log lines, and each script's control flow. What a real VM answers is only known on KVM.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nixeval import REPO
from vmtest.scriptlint.compose import BootCheck, check_script, load_suite
from vmtest.scriptlint.rules import subtest_names

FIXTURE = REPO / "tests/driver/fixtures/e2e"
DRIVER = FIXTURE / "stand-in-driver"
TOPLEVEL = "/nix/store/" + "a" * 32 + "-nixos-system-server-26.05"
FACTS: dict[str, Any] = {
    "check_system": "x86_64-linux",
    "uname_machine": "x86_64",
    "vm_system": "x86_64-linux",
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
    "os_build_id": "26.05test",  # the node's: the test framework forces its suffix
    "failed_assertions": [],
    "warnings": [],
}
AARCH64 = {
    "aarch64_system": "aarch64-linux",
    "aarch64_toplevel_drv": "/nix/store/" + "b" * 32 + "-nixos-system-vmtest.drv",
}
ANSWERS = [
    *json.loads((FIXTURE / "answers.json").read_text())["answers"],
    ["^readlink -f /run/current-system$", 0, TOPLEVEL + "\n"],
]

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="the stand-in facts are those of an x86_64 host"
)


class Run:
    """One stand-in driver run of a check: exit code, log lines, results file."""

    def __init__(self, done: subprocess.CompletedProcess[str], out: Path) -> None:
        self.returncode = done.returncode
        self.lines = done.stdout.splitlines()  # stdout and stderr, as in a build log
        self.log = done.stdout
        results = out / "vmtest-results.json"
        self.results = json.loads(results.read_text()) if results.exists() else None

    @property
    def statuses(self) -> dict[str, str]:
        assert self.results is not None
        return {s["name"]: s["status"] for s in self.results["cases"][0]["subtests"]}

    def subtest(self, name: str) -> dict[str, Any]:
        assert self.results is not None
        return next(s for s in self.results["cases"][0]["subtests"] if s["name"] == name)


def boot_check(name: str) -> BootCheck:
    return next(c for c in load_suite(REPO).boot_checks if c.name == name)


def run_check(tmp_path: Path, name: str, **table: Any) -> Run:
    check = boot_check(name)
    facts = FACTS | (AARCH64 if name == "platform-validation-test" else {})
    expected = tmp_path / f"{name}-expected.json"
    expected.write_text(json.dumps(facts))
    script = tmp_path / "test-script"
    script.write_text(check_script(REPO, check, str(expected)).text)
    answers = tmp_path / "answers.json"
    table["answers"] = [*table.get("answers", []), *ANSWERS]
    answers.write_text(json.dumps(table))
    out = tmp_path / "out"
    out.mkdir()
    timeout = str(table.get("globalTimeout", check.timeout))
    argv = [sys.executable, str(DRIVER / "nixos_test_driver.py"), "-o", str(out)]
    argv += ["--global-timeout", timeout, "--answers", str(answers)]
    argv += ["--nodes", ",".join(check.nodes), "--runs", str(table.get("runs", 1)), str(script)]
    env = os.environ | {"PYTHONPATH": str(DRIVER), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )
    return Run(done, out)


@pytest.mark.parametrize("name", [c.name for c in load_suite(REPO).boot_checks])
def test_every_booted_check_records_all_its_subtests_when_the_guests_answer(
    tmp_path: Path, name: str
) -> None:
    run = run_check(tmp_path, name)
    assert run.returncode == 0, run.log
    script = (REPO / boot_check(name).script).read_text()
    assert list(run.statuses) == subtest_names(script)
    assert set(run.statuses.values()) == {"passed"}
    assert run.lines[-1] == f"vmtest: {name}: {len(run.statuses)} subtests passed"


def test_a_failing_subtest_fails_the_run_and_its_error_is_the_last_lines(tmp_path: Path) -> None:
    denied = "alice@192.168.1.2: Permission denied (publickey).\n"
    run = run_check(tmp_path, "vm-service-test", answers=[[r"alice@\S+ 'id -un'", 255, denied]])
    assert run.returncode == 1  # the driver's exit code: the check's derivation fails
    assert run.statuses == {
        "sshd is active and port 22 answers on the test network": "passed",
        "test user logs in from the client with the test key": "failed",
    }
    error = run.subtest("test user logs in from the client with the test key")["error"]
    assert error.startswith("RequestedAssertionFailed: command `ssh ")
    assert error.endswith("failed (exit code 255)\nlast output lines:\n" + denied.strip())
    assert (
        run.lines[-4:]
        == [
            'vmtest: vm-service-test: FAILED subtest "test user logs in from the client with the test key":',
            *(f"vmtest:   {line}" for line in error.splitlines()),
        ][-4:]
    )


def test_accepted_root_login_fails_the_refusal_subtest(tmp_path: Path) -> None:
    run = run_check(tmp_path, "vm-service-test", answers=[[r"root@\S+ true", 0, ""]])
    assert run.returncode == 1
    assert run.statuses["root login over SSH is refused even with an authorized key"] == "failed"
    assert "password login over SSH is refused" not in run.statuses


def test_password_offered_by_sshd_fails_the_password_subtest(tmp_path: Path) -> None:
    offered = "alice@x: Permission denied (publickey,password).\n"
    answers = [[r"PubkeyAuthentication=no .*alice@\S+ true", 255, offered]]
    run = run_check(tmp_path, "vm-service-test", answers=answers)
    assert run.returncode == 1
    assert run.statuses["password login over SSH is refused"] == "failed"


def test_a_vm_that_never_boots_ends_at_the_global_timeout_saying_so(tmp_path: Path) -> None:
    run = run_check(tmp_path, "vm-execution-test", noBoot=["server"], globalTimeout=2)
    assert run.returncode == -15  # the driver SIGTERMs itself, as nixpkgs' terminate_test does
    assert run.statuses == {"server reaches multi-user.target": "failed"}
    assert run.lines[-2:] == [
        'vmtest: vm-execution-test: FAILED subtest "server reaches multi-user.target":',
        (
            "vmtest:   the global timeout (2 s) was reached: the VM did not boot"
            " (server: no root shell)"
        ),
    ]


def test_a_failed_unit_at_boot_fails_the_first_subtest_and_nothing_passes_after(
    tmp_path: Path,
) -> None:
    run = run_check(
        tmp_path, "vm-config-integrity-test", downUnits={"server": ["multi-user.target"]}
    )
    assert run.returncode == 1
    # Subtests that need no VM (evaluation facts) pass honestly; none runs after a failure.
    assert run.statuses == {
        "no NixOS assertion fails": "passed",
        "configuration evaluates without warnings": "passed",
        "/run/current-system is the built system": "failed",
    }


def test_wrong_host_name_fails_its_subtest(tmp_path: Path) -> None:
    answers = [[r"^cat /proc/sys/kernel/hostname$", 0, "nixos\n"]]
    run = run_check(tmp_path, "vm-execution-test", answers=answers)
    assert run.returncode == 1
    assert run.statuses["host name is the one nixosConfigurations.vm sets"] == "failed"
    assert "server powers off cleanly" not in run.statuses


def test_a_power_off_without_the_kernels_power_down_is_not_clean(tmp_path: Path) -> None:
    panic = "Kernel panic - not syncing: Attempted to kill init!"
    run = run_check(tmp_path, "vm-execution-test", consoleAfterShutdown=panic)
    assert run.returncode == 1
    assert run.statuses["server powers off cleanly"] == "failed"
    assert "action timed out" in run.subtest("server powers off cleanly")["error"]


def test_facts_with_an_unknown_key_fail_before_any_subtest(tmp_path: Path) -> None:
    FACTS["unexpected"] = "x"
    try:
        run = run_check(tmp_path, "vm-execution-test")
    finally:
        del FACTS["unexpected"]
    assert run.returncode == 1
    assert any("unexpected keyword argument 'unexpected'" in line for line in run.lines)


def test_running_the_script_again_interactively_keeps_one_recorder(tmp_path: Path) -> None:
    run = run_check(tmp_path, "platform-validation-test", runs=2)
    assert run.returncode == 0, run.log
    assert run.lines.count("subtest: aarch64 configuration evaluates") == 2
    assert [line for line in run.lines if line.startswith("vmtest:")] == [
        "vmtest: platform-validation-test: 4 subtests passed"
    ]
    assert len(run.statuses) == 4
