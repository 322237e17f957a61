"""The failures CI users hit, said plainly, with a report on every exit (real nix):
missing system features, unreachable stores, a --timeout that also bounds evaluation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import check_by_name, junit_cases, load_json, ref, requires_nix, run_vmtest

pytestmark = requires_nix

NO_VM_FEATURES = "\nsystem-features = benchmark big-parallel"


def test_full_without_the_kvm_features_exits_3_naming_them(
    flake: Path, nix_env: dict[str, str]
) -> None:
    env = {**nix_env, "NIX_CONFIG": nix_env["NIX_CONFIG"] + NO_VM_FEATURES}
    res = run_vmtest(["full", "--allow-tcg", "--flake", ref(flake)], env)
    assert res.returncode == 3, res.output
    assert (
        "error: nix lacks the system features kvm, nixos-test that vm-test-suite needs "
        "(nix has: benchmark big-parallel)"
    ) in res.stderr
    assert 'add "extra-system-features = kvm nixos-test" to nix.conf' in res.stderr
    assert "Traceback" not in res.output


def test_nix_refusing_a_build_for_a_missing_feature_is_said_with_the_fix(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    args = ["run", "needs-feature", "passing", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 3, res.output  # the environment is not ready
    assert "with features {vmtest-fixture-feature} is required to build" in res.stdout
    assert 'fix: add "extra-system-features = vmtest-fixture-feature" to nix.conf' in res.stdout
    assert "Nix named no failing derivation" not in res.stdout
    assert "next: needs-feature: did not run here: see why above" in res.stdout
    data = load_json(report)
    refused = check_by_name(data, "needs-feature")
    assert refused["status"] == "not-run"  # this machine cannot build it
    assert "is required to build" in refused["failure"]["message"]
    # Nix stops the whole build at its refusal; the other check is built all the same.
    assert check_by_name(data, "passing")["status"] == "passed"


def test_nix_refusing_a_build_for_another_platform_names_the_platform_not_a_feature(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    host = json.loads(
        subprocess.run(
            ["nix", "eval", "--impure", "--json", "--expr", "builtins.currentSystem"],
            env=nix_env, capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    other = "aarch64-linux" if host != "aarch64-linux" else "x86_64-linux"
    report = tmp_path / "r.json"
    args = ["run", "passing", "--system", other, "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 3, res.output  # this machine cannot build it
    assert f"a '{other}' with features {{}} is required to build" in res.stdout
    # aarch64-linux or x86_64-linux: "an" either way, as they are read aloud.
    assert f"fix: build it on an {other} machine (--builders 'ssh://HOST {other}'" in res.stdout
    assert "extra-system-features =" not in res.stdout  # no feature is missing
    assert check_by_name(load_json(report), "passing")["status"] == "not-run"


@pytest.mark.parametrize(
    ("args", "code", "status", "message"),
    [
        (["run", "nope"], 2, "failed", "unknown check: nope"),
        (["full"], 3, "failed", "no usable KVM for vm-test-suite"),
    ],
    ids=["exit-2", "exit-3"],
)
def test_an_error_exit_still_writes_every_report(
    flake: Path,
    nix_env: dict[str, str],
    tmp_path: Path,
    args: list[str],
    code: int,
    status: str,
    message: str,
) -> None:
    report, junit, summary = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "summary.md"
    env = {
        **nix_env,
        "VMTEST_KVM_DEVICE": "/nonexistent/kvm",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(flake),
    }
    files = ["--report", str(report), "--junit", str(junit), "--json"]
    res = run_vmtest([*args, "--flake", ref(flake), *files], env)
    assert res.returncode == code, res.output
    assert f"error: {message}" in res.stderr
    data = json.loads(res.stdout)  # --json: the report on stdout
    assert data == load_json(report)
    [check] = data["checks"]
    assert check["status"] == status and message in check["failure"]["message"]
    [case] = junit_cases(junit).values()
    assert case.find("failure") is not None or case.find("error") is not None
    assert message in summary.read_text()
    assert any(line.startswith("::error ") and message in line for line in res.stderr.splitlines())


def _slow_manifest_flake(tmp_path: Path) -> Path:
    """A flake whose manifest takes many seconds to evaluate (builtins only)."""
    slow = tmp_path / "slow-eval"
    slow.mkdir()
    (slow / "flake.nix").write_text(
        "{ outputs = { self }: {\n"
        "  vmtestManifest = builtins.seq\n"
        "    (builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 100000000))\n"
        "    { schemaVersion = 1; checks = [ ]; };\n"
        "  checks = { };\n"
        "}; }\n"
    )
    return slow


def test_timeout_bounds_the_evaluation_too(tmp_path: Path, nix_env: dict[str, str]) -> None:
    slow = _slow_manifest_flake(tmp_path)
    report = tmp_path / "r.json"
    res = run_vmtest(
        ["quick", "--timeout", "3", "--flake", ref(slow), "--report", str(report)], nix_env
    )
    # The manifest's evaluation was cut at the deadline (it would have given exit 0):
    # no wall-clock bound here, a loaded machine only makes it slower.
    assert res.returncode == 4, res.output
    assert "error: timed out after" in res.stderr and "vmtestManifest" in res.stderr
    [check] = load_json(report)["checks"]
    assert check["name"] == "unit-vm-analysis" and check["status"] == "timed-out"


def test_an_unreachable_store_is_reported_as_such(flake: Path, nix_env: dict[str, str]) -> None:
    store = "ssh-ng://nobody@vmtest-unreachable.invalid"
    res = run_vmtest(["quick", "--flake", ref(flake), "--store", store], nix_env, timeout=60)
    assert res.returncode == 3, res.output
    assert f"error: cannot reach the store {store}: ssh: Could not resolve hostname" in res.stderr
    assert "flake input" not in res.stderr
    assert "Remote builders" in res.stderr


def test_unreachable_builders_are_reported_as_such(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    builders = "ssh://nobody@vmtest-unreachable.invalid x86_64-linux"
    report = tmp_path / "r.json"
    args = ["run", "failing", "--flake", ref(flake), "--builders", builders]
    res = run_vmtest([*args, "--option", "max-jobs", "0", "--report", str(report)], nix_env)
    assert res.returncode == 3, res.output
    # Nix's words follow: "cannot connect to 'nobody@…'" (2.8), "failed to start SSH
    # connection to 'nobody@…': ssh: Could not resolve hostname …" (2.26).
    [line] = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(
        "error: cannot reach the builder ssh://nobody@vmtest-unreachable.invalid: "
    )
    assert "'nobody@vmtest-unreachable.invalid'" in line
    assert check_by_name(load_json(report), "failing")["status"] == "failed"


NO_KVM = {"VMTEST_KVM_DEVICE": "/nonexistent/kvm"}


@pytest.mark.parametrize(
    ("other", "code", "other_status"), [("passing", 3, "passed"), ("failing", 1, "failed")]
)
def test_without_kvm_only_the_checks_needing_it_are_left_out(
    flake: Path,
    nix_env: dict[str, str],
    tmp_path: Path,
    other: str,
    code: int,
    other_status: str,
) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "boot-pass", other, "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], {**nix_env, **NO_KVM})
    # 3 (environment) when nothing that ran failed; a failure that ran says 1.
    assert res.returncode == code, res.output
    data = load_json(report)
    assert check_by_name(data, other)["status"] == other_status
    assert "no usable KVM" not in str(check_by_name(data, other).get("failure"))
    left_out = check_by_name(data, "boot-pass")
    assert left_out["status"] == "not-run"
    assert (
        "no usable KVM for boot-pass: /nonexistent/kvm does not exist"
        in (left_out["failure"]["message"])
    )
    # The hint repeats the command as typed, with --allow-tcg.
    retry = f"vmtest run boot-pass {other} --flake {ref(flake)} --report {report} --junit {junit}"
    assert f"`{retry} --allow-tcg`" in res.stderr
    assert "vmtest full --allow-tcg" not in res.output
    assert junit_cases(junit)[("boot-pass", "boot-pass")].find("skipped") is not None


def test_without_kvm_a_dry_run_is_not_refused(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["full", "--dry-run", "--flake", ref(flake)], {**nix_env, **NO_KVM})
    assert res.returncode == 0, res.output
    assert "vm-test-suite: would build 1 derivation" in res.stdout
    assert "dry run: nothing was built" in res.stdout
    assert "note: a run would leave these out: no usable KVM for vm-test-suite" in res.stderr


def test_without_kvm_the_hint_names_the_command_used(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "boot-pass", "--flake", ref(flake)], {**nix_env, **NO_KVM})
    assert res.returncode == 3, res.output
    assert "error: no usable KVM for boot-pass" in res.stderr
    assert f"`vmtest run boot-pass --flake {ref(flake)} --allow-tcg`" in res.stderr


def test_system_features_given_with_option_count_before_the_build(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """`--option extra-system-features "kvm nixos-test"` gives Nix the features for this
    run: vmtest's own check before building reads Nix's settings with it and lets the
    build go on; without it, that check refuses (exit 3)."""
    env = {**nix_env, "NIX_CONFIG": nix_env["NIX_CONFIG"] + NO_VM_FEATURES}
    report = tmp_path / "r.json"
    args = ["run", "boot-pass", "--allow-tcg", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest([*args, "--option", "extra-system-features", "kvm nixos-test"], env)
    assert res.returncode == 0, res.output
    assert check_by_name(load_json(report), "boot-pass")["status"] == "passed"
    refused = run_vmtest(args, env)
    assert refused.returncode == 3, refused.output
    assert "nix lacks the system features kvm, nixos-test that boot-pass needs" in refused.stderr


def test_system_features_taken_away_with_option_are_the_environment(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """`--option system-features benchmark` leaves Nix without `kvm` and `nixos-test` for
    this run: exit 3 naming them, before anything is built."""
    report = tmp_path / "r.json"
    args = ["run", "boot-pass", "--allow-tcg", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest([*args, "--option", "system-features", "benchmark"], nix_env)
    assert res.returncode == 3, res.output
    assert "nix lacks the system features kvm, nixos-test that boot-pass needs" in res.stderr
    assert check_by_name(load_json(report), "boot-pass")["status"] == "failed"
