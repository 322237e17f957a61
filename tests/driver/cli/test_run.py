"""`vmtest quick|full|run` against the fixture flake with the real nix.

Each case checks what a user gets: exit code, the printed summary, the JSON
report and the JUnit file (parsed with xml.etree).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import (
    check_by_name,
    junit_cases,
    load_json,
    marker_of,
    processes_with,
    ref,
    requires_nix,
    run_vmtest,
    set_settings,
    vmtest_argv,
)

pytestmark = requires_nix


def test_quick_passes_and_lists_warnings(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    res = run_vmtest(
        ["quick", "--flake", ref(flake), "--report", str(report), "--junit", str(junit)], nix_env
    )
    assert res.returncode == 0, res.output
    assert "vm-analysis: OK (12 rules, 1 warnings) for vm, vm-aarch64" in res.stdout
    assert (
        "warning: VM configuration has warnings:\n"
        "  - sshd allows password authentication\n"
        "      rule: ssh-password-auth\n"
        "      option: services.openssh.settings.PasswordAuthentication\n"
        "      fix: set services.openssh.settings.PasswordAuthentication = false;\n"
    ) in res.stdout
    data = load_json(report)
    assert data["status"] == "passed"
    check = check_by_name(data, "unit-vm-analysis")
    assert check["status"] == "passed"
    assert check["phases"]["evaluate"] is not None and check["phases"]["evaluate"] > 0
    assert [f["id"] for f in check["findings"]] == ["ssh-password-auth"]
    assert check["artifacts"] and Path(check["artifacts"][0]).is_file()
    rules = ["docker-enabled", "openssh-package", "ssh-password-auth", "sudo-wheel"]
    assert [(s["name"], s["status"]) for s in check["subtests"]] == [(r, "passed") for r in rules]
    cases = junit_cases(junit)
    for rule in rules:
        assert cases[("unit-vm-analysis", rule)].find("failure") is None


def test_quick_failure_prints_findings(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    set_settings(flake, marker_of(flake), analysis_fails=True)
    junit = tmp_path / "j.xml"
    res = run_vmtest(["quick", "--flake", ref(flake), "--junit", str(junit)], nix_env)
    assert res.returncode == 1, res.output
    # The spec's wording: a heading, then one `  - <message>` per error finding.
    assert (
        "\nerror: VM configuration has issues:\n"
        "  - Docker service not properly configured\n"
        "      rule: docker-enabled\n"
        "      option: virtualisation.docker.enable\n"
    ) in res.stdout
    assert "\n  - Missing required package: openssh\n      rule: openssh-package\n" in res.stdout
    assert "VM configuration has 2 issues (docker-enabled, openssh-package)" in res.stdout
    # each finding once: not again as a subtest line or in the raw log tail
    assert res.stdout.count("Docker service not properly configured") == 1
    assert res.stdout.count("rule: docker-enabled") == 1
    assert "log tail:" not in res.stdout
    assert res.stdout.rstrip().endswith(
        "next: unit-vm-analysis: change the configuration as each error finding's fix says"
    )
    cases = junit_cases(junit)
    failed = {name for (cls, name), c in cases.items() if c.find("failure") is not None}
    assert failed == {"docker-enabled", "openssh-package"}
    assert cases[("unit-vm-analysis", "sudo-wheel")].find("failure") is None


def test_quick_json_on_stdout(flake: Path, nix_env: dict[str, str]) -> None:
    set_settings(flake, marker_of(flake), analysis_fails=True)
    res = run_vmtest(["quick", "--flake", ref(flake), "--json"], nix_env)
    assert res.returncode == 1, res.output
    data = json.loads(res.stdout)  # nothing but JSON on stdout
    check = check_by_name(data, "unit-vm-analysis")
    assert check["status"] == "failed"
    errors = [f["id"] for f in check["findings"] if f["severity"] == "error"]
    assert errors == ["docker-enabled", "openssh-package"]
    assert check["failure"]["drvPath"].endswith("-unit-vm-analysis.drv")
    message = "VM configuration has 2 issues (docker-enabled, openssh-package)"
    assert check["failure"]["message"] == message


def test_run_mixed_outcomes(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "passing", "failing", "dep-failing", "eval-error", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], nix_env)
    assert res.returncode == 1, res.output
    data = load_json(report)
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert statuses == {
        "passing": "passed",
        "failing": "failed",
        "dep-failing": "failed",
        "eval-error": "eval-error",
    }
    failing = check_by_name(data, "failing")
    assert failing["failure"]["drvPath"].endswith("-failing.drv")
    assert "FAIL: expected 22, got 2222" in failing["failure"]["logTail"]
    dep = check_by_name(data, "dep-failing")
    assert dep["failure"]["drvPath"].endswith("-failing-dependency.drv")
    assert "dependency failed" in dep["failure"]["message"]
    ev = check_by_name(data, "eval-error")["failure"]["evalError"]
    assert ev["file"].endswith("/broken.nix") and ev["line"] == 6 and ev["column"] == 11
    assert "attribute 'drv' missing" in ev["message"]
    # what a user sees
    assert "vmtest: eval-error (4 checks: 1 could not be evaluated, 2 failed, 1 passed)" in (
        res.stdout
    )
    assert "next: eval-error: fix the Nix evaluation error shown above; " in res.stdout
    assert "FAIL: expected 22, got 2222" in res.stdout
    assert "broken.nix:6:11" in res.stdout
    cases = junit_cases(junit)
    assert cases[("failing", "failing")].find("failure") is not None
    assert cases[("passing", "passing")].find("failure") is None
    assert cases[("eval-error", "eval-error")].find("error") is not None


def test_run_driver_subtests(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "vm-test-suite", "vm-service-test", "--allow-tcg", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], nix_env)
    assert res.returncode == 1, res.output
    data = load_json(report)
    suite = check_by_name(data, "vm-test-suite")
    assert suite["status"] == "passed"
    assert [(s["name"], s["status"]) for s in suite["subtests"]] == [
        ("sshd accepts the test key", "passed"),
        ("docker runs a container", "passed"),
    ]
    # The fixture's VM "connects" at once; the driver's 12.50 s is the script's wait.
    assert 0 <= suite["phases"]["boot"] < 5
    service = check_by_name(data, "vm-service-test")
    assert service["status"] == "failed"
    failed = [s for s in service["subtests"] if s["status"] == "failed"]
    assert [s["name"] for s in failed] == ["docker runs a container"]
    assert "docker run hello-world" in failed[0]["message"]
    assert "subtest 'docker runs a container' failed" in res.stdout
    cases = junit_cases(junit)
    assert cases[("vm-service-test", "docker runs a container")].find("failure") is not None
    assert cases[("vm-service-test", "sshd accepts the test key")].find("failure") is None
    assert cases[("vm-test-suite", "docker runs a container")].find("failure") is None


def test_run_booted_checks_and_their_suite(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """Full-tier shape: each booted check is its own driver run; the suite depends on
    them, so a failing check fails the suite, whose subtests come from the checks' logs."""
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "boot-pass", "boot-fail", "boot-suite", "--allow-tcg", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], nix_env)
    assert res.returncode == 1, res.output
    data = load_json(report)
    subtests = {
        c["name"]: [(s["name"], s["status"]) for s in c["subtests"]] for c in data["checks"]
    }
    assert subtests["boot-pass"] == [
        ("sshd accepts the test key", "passed"),
        ("docker runs a container", "passed"),
    ]
    assert subtests["boot-fail"] == [
        ("server reaches multi-user.target", "passed"),
        ("no systemd unit has failed", "failed"),
    ]
    assert subtests["boot-suite"] == [
        *subtests["boot-fail"],
        ("host name is the configured one", "not-run"),
        *subtests["boot-pass"],
    ]
    fail = check_by_name(data, "boot-fail")
    assert "docker.service" in fail["subtests"][1]["message"]
    assert 0 <= fail["phases"]["boot"] < 5
    suite = check_by_name(data, "boot-suite")
    assert suite["status"] == "failed"
    assert suite["failure"]["drvPath"].endswith("-vm-test-run-boot-fail.drv")
    # The suite's own derivation boots nothing: no boot or script time of another check.
    assert suite["phases"]["boot"] is None and suite["phases"]["script"] is None
    assert "subtest 'no systemd unit has failed' failed" in res.stdout
    # One step from the red suite to the failing check's interactive driver.
    interactive = f"nix run {ref(flake)}#checks.{data['system']}.boot-fail.driverInteractive"
    assert f"boot-suite: {interactive}" in res.stdout
    cases = junit_cases(junit)
    assert cases[("boot-fail", "no systemd unit has failed")].find("failure") is not None
    assert cases[("boot-suite", "docker runs a container")].find("failure") is None


def test_cached_pass_reads_subtests_from_stored_log(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_vmtest(["full", "--allow-tcg", "--flake", ref(flake)], nix_env)
    assert first.returncode == 0, first.output
    report = tmp_path / "r.json"
    again = run_vmtest(
        ["full", "--allow-tcg", "--flake", ref(flake), "--report", str(report)], nix_env
    )
    assert again.returncode == 0, again.output
    suite = check_by_name(load_json(report), "vm-test-suite")
    assert [s["status"] for s in suite["subtests"]] == ["passed", "passed"]


def test_full_refuses_without_kvm(flake: Path, nix_env: dict[str, str]) -> None:
    env = {**nix_env, "VMTEST_KVM_DEVICE": "/nonexistent/kvm"}
    res = run_vmtest(["full", "--flake", ref(flake)], env)
    assert res.returncode == 3, res.output
    assert "error: no usable KVM for vm-test-suite: /nonexistent/kvm does not exist" in res.stderr
    assert "--allow-tcg" in res.stderr
    assert "Traceback" not in res.output


def test_full_allow_tcg_runs_without_kvm(flake: Path, nix_env: dict[str, str]) -> None:
    env = {**nix_env, "VMTEST_KVM_DEVICE": "/nonexistent/kvm"}
    res = run_vmtest(["full", "--allow-tcg", "--flake", ref(flake)], env)
    assert res.returncode == 0, res.output
    assert "without KVM (--allow-tcg)" in res.stderr


def test_timeout_kills_the_build(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "slow", "--timeout", "5", "-L", "--flake", ref(flake)]
    # Its builder sleeps 600 s: a return within run_vmtest's limit is the timeout's doing.
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], nix_env)
    assert res.returncode == 4, res.output
    check = check_by_name(load_json(report), "slow")
    assert check["status"] == "timed-out"
    # The report keeps what the build logged before the deadline (-L shows it live; on a
    # loaded machine the deadline may come before the builder's first line).
    logged = "slow> waiting forever" in res.stderr
    assert ("waiting forever" in check["failure"]["logTail"]) == logged
    assert junit_cases(junit)[("slow", "slow")].find("error") is not None
    assert _eventually_empty(marker_of(flake)) == []


def test_ctrl_c_writes_partial_report(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = vmtest_argv("run", "slow", "passing", "--flake", ref(flake), "--report", str(report))
    proc = subprocess.Popen(
        args, env=nix_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the slow builder runs
        if "building slow" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    data = load_json(report)
    assert data["status"] == "interrupted" and data["interrupted"] is True
    slow = check_by_name(data, "slow")
    assert slow["status"] == "interrupted"
    assert "Traceback" not in stderr
    # neither the builder (marked by its environment) nor the `nix build` of its drv is left
    assert _eventually_empty(marker_of(flake), slow["failure"]["drvPath"]) == []


def _eventually_empty(marker: str, *cmdline_parts: str, within: float = 10) -> list[str]:
    deadline = time.monotonic() + within
    while (left := processes_with(marker, *cmdline_parts)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_nix_options_are_passed_through(flake: Path, nix_env: dict[str, str]) -> None:
    args = ["run", "passing", "--flake", ref(flake), "--builders", ""]
    options = ["--option", "cores", "1", "--option", "max-jobs=1"]  # nix's form and NAME=VALUE
    res = run_vmtest(["--debug", *args, *options], nix_env)
    assert res.returncode == 0, res.output
    builds = [line for line in res.stderr.splitlines() if line.startswith("debug: + nix build")]
    assert len(builds) == 1
    assert "--builders '' --option cores 1 --option max-jobs 1" in builds[0]


def test_check_of_another_system(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(
        ["run", "passing", "--system", "riscv64-linux", "--flake", ref(flake)], nix_env
    )
    assert res.returncode == 2, res.output
    assert "error: check 'passing' is not defined for riscv64-linux" in res.stderr


def test_sigterm_stops_nix_and_writes_report(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    args = vmtest_argv("run", "slow", "--flake", ref(flake), "--report", str(report))
    proc = subprocess.Popen(
        args, env=nix_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "building slow" in line:
            break
    proc.terminate()
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert load_json(report)["status"] == "interrupted"
    assert _eventually_empty(marker_of(flake)) == []


def test_each_check_has_its_own_status_and_time_under_a_timeout(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """A check that fails or passes at once is not held up by one that hangs until the
    deadline: each is built on its own, as if alone."""
    report = tmp_path / "r.json"
    args = ["run", "failing", "passing", "slow", "--timeout", "10", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report)], nix_env)
    assert res.returncode == 4, res.output
    data = load_json(report)
    slow, failing = check_by_name(data, "slow"), check_by_name(data, "failing")
    passing = check_by_name(data, "passing")
    assert slow["status"] == "timed-out"
    assert slow["failure"]["drvPath"].endswith("-slow.drv")
    assert failing["status"] == "failed"
    assert failing["failure"]["exitCode"] == 3
    assert failing["failure"]["drvPath"].endswith("-failing.drv")
    assert passing["status"] == "passed"
    # Their own build times, not the hanging one's.
    assert failing["duration"] < slow["duration"] and passing["duration"] < slow["duration"]
    assert failing["phases"]["build"] < slow["phases"]["build"]
    assert _eventually_empty(marker_of(flake)) == []


def test_finished_and_failed_lines_come_as_each_check_ends(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """The live lines of the checks that end come while another check still hangs
    (its builder sleeps far beyond this test), not all at the end of the run."""
    report = tmp_path / "r.json"
    args = ["run", "failing", "passing", "slow", "--timeout", "90", "--flake", ref(flake)]
    proc = subprocess.Popen(
        vmtest_argv(*args, "--report", str(report)),
        env=nix_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        ended = [x for x in seen if "FAILED failing " in x or "finished passing " in x]
        if len(ended) == 2:
            break
    assert proc.poll() is None, "".join(seen)  # the slow check still runs
    assert not [x for x in seen if "finished slow" in x or "FAILED slow" in x]
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    data = load_json(report)
    assert {c["name"]: c["status"] for c in data["checks"]} == {
        "failing": "failed",
        "passing": "passed",
        "slow": "interrupted",
    }
    assert _eventually_empty(marker_of(flake)) == []


def test_selected_checks_are_evaluated_once(flake: Path, nix_env: dict[str, str]) -> None:
    """One evaluation gives every selected check its .drv (the flake and its nixpkgs are
    evaluated once); then one `nix build` per check."""
    args = ["--debug", "run", "passing", "failing", "unit-vm-analysis", "--flake", ref(flake)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 1, res.output
    calls = [line for line in res.stderr.splitlines() if line.startswith("debug: + nix")]
    # (the manifest's evaluations ask for no derivation)
    [checks] = [c for c in calls if "drvPath" in c or " path-info " in c]
    assert all(name in checks for name in ('"passing"', '"failing"', '"unit-vm-analysis"'))
    builds = [c for c in calls if c.startswith("debug: + nix build")]
    assert sorted(b.rsplit("-", 1)[-1].split(".drv")[0] for b in builds) == [
        "analysis",
        "failing",
        "passing",
    ]


def test_a_check_whose_selected_dependency_failed_is_not_built(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """A suite selected with a booted check it depends on waits for it; when that one
    failed the suite is not built (Nix would only run the failed test again)."""
    report = tmp_path / "r.json"
    args = ["--debug", "run", "boot-suite", "boot-fail", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report)], nix_env)
    assert res.returncode == 1, res.output
    builds = [x for x in res.stderr.splitlines() if x.startswith("debug: + nix build")]
    assert len(builds) == 1 and "-vm-test-run-boot-fail.drv" in builds[0], builds
    data = load_json(report)
    suite = check_by_name(data, "boot-suite")
    assert suite["status"] == "failed"
    assert suite["failure"]["message"].startswith("dependency failed: boot-fail: ")
    assert suite["failure"]["drvPath"].endswith("-vm-test-run-boot-fail.drv")
    assert check_by_name(data, "boot-fail")["status"] == "failed"


def test_ctrl_c_before_any_check_still_writes_the_reports(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """Interrupted while the manifest is evaluated (a `nix eval` that hangs, by a fake nix
    in front of the real one): the report files exist and name the check asked for as
    interrupted, so CI never reads an empty (green) JUnit file."""
    fake_bin, started = tmp_path / "fake-bin", tmp_path / "nix-eval-started"
    fake_bin.mkdir()
    real_nix = shutil.which("nix", path=nix_env["PATH"])
    fake = fake_bin / "nix"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = eval ]; then : > {started}; exec sleep 60; fi\n'
        f'exec {real_nix} "$@"\n'
    )
    fake.chmod(0o755)
    marker = marker_of(flake)
    env = {**nix_env, "PATH": f"{fake_bin}:{nix_env['PATH']}", "VMTEST_MARKER": marker}
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["quick", "--flake", ref(flake), "--report", str(report), "--junit", str(junit)]
    proc = subprocess.Popen(
        vmtest_argv(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert started.exists(), proc.communicate(timeout=30)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    data = load_json(report)
    assert (data["status"], data["interrupted"]) == ("interrupted", True)
    [check] = data["checks"]
    assert (check["name"], check["status"]) == ("unit-vm-analysis", "interrupted")
    assert check["failure"]["message"] == "interrupted before the check started"
    assert data["system"] != "unknown"  # nix had answered before the manifest was asked for
    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests")) == ("testsuites", "1")
    assert int(root.get("failures") or 0) + int(root.get("errors") or 0) == 1
    assert "interrupted before the check started" in stdout
    assert "Traceback" not in stderr
    assert _eventually_empty(marker) == []  # the hanging `nix eval`s were stopped
