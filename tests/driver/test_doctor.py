"""`vmtest doctor` with the real nix and real device probes."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import requires_nix, run_vmtest
from vmtest.doctor import probe_kvm


def items(stdout: str) -> dict[str, dict[str, object]]:
    data = json.loads(stdout)
    return {i["name"]: i for i in data["items"]}


@requires_nix
def test_doctor_json_reports_every_item(nix_env: dict[str, str]) -> None:
    res = run_vmtest(["doctor", "--json"], nix_env)
    data = json.loads(res.stdout)
    found = items(res.stdout)
    assert set(found) == {
        "nix",
        "flakes",
        "system",
        "system-features",
        "/dev/kvm",
        "cores",
        "memory",
    }
    assert found["nix"]["ok"] is True and str(found["nix"]["value"]).startswith("2.")
    assert found["flakes"]["value"] == "enabled"
    assert data["quickReady"] is True
    # exit code follows the full-tier verdict, whatever this machine has
    assert res.returncode == (0 if data["fullReady"] else 3), res.output


@requires_nix
def test_doctor_without_kvm_exits_3_and_says_why(nix_env: dict[str, str]) -> None:
    env = {**nix_env, "VMTEST_KVM_DEVICE": "/nonexistent/kvm"}
    res = run_vmtest(["doctor"], env)
    assert res.returncode == 3, res.output
    assert "/nonexistent/kvm does not exist" in res.stdout
    assert "not ready for the full tier: missing /dev/kvm" in res.stdout
    assert "cores" in res.stdout and "memory" in res.stdout


@requires_nix
def test_doctor_flakes_off(nix_env: dict[str, str]) -> None:
    env = {**nix_env, "NIX_CONFIG": "experimental-features =", "VMTEST_KVM_DEVICE": "/nonexistent"}
    res = run_vmtest(["doctor", "--json"], env)
    assert res.returncode == 3
    found = items(res.stdout)
    assert found["flakes"]["ok"] is False and found["flakes"]["value"] == "disabled"
    assert found["system"]["ok"] is True  # still read, with nix-command turned on for the query
    assert json.loads(res.stdout)["quickReady"] is False


def test_doctor_without_nix_still_prints_everything(
    nix_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    res = run_vmtest(["doctor", "--json"], {**nix_env, "PATH": str(empty)})
    assert res.returncode == 3
    found = items(res.stdout)
    assert found["nix"]["ok"] is False and "nix is not installed or not on PATH" in str(
        found["nix"]["value"]
    )
    assert found["cores"]["ok"] is True and found["/dev/kvm"]["name"] == "/dev/kvm"


def test_doctor_without_nix_says_what_it_could_not_check(
    nix_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**nix_env, "PATH": str(empty), "COLUMNS": "160"}
    res = run_vmtest(["doctor"], env)
    assert res.returncode == 3, res.output
    lines = res.stdout.splitlines()
    # No fix is offered for what was not looked at: only nix's own.
    named = ("nix:", "flakes:", "system:", "system-features:")
    assert [line.split(":")[0] for line in lines if line.startswith(named)] == ["nix"]
    assert lines[-1] == (
        "not ready for the quick tier (nor the full tier): missing nix; "
        "not checked without nix: flakes, system, system-features"
    )
    data = json.loads(run_vmtest(["doctor", "--json"], env).stdout)
    found = {i["name"]: i for i in data["items"]}
    assert found["flakes"]["checked"] is False and found["flakes"]["fix"] is None
    assert found["nix"]["checked"] is True and found["nix"]["fix"]
    assert data["notChecked"] == ["flakes", "system", "system-features"]
    assert data["missingForQuick"] == ["nix"]


def test_kvm_probe_needs_a_real_kvm_device() -> None:
    assert probe_kvm({"VMTEST_KVM_DEVICE": "/nonexistent"}).usable is False
    not_kvm = probe_kvm({"VMTEST_KVM_DEVICE": "/dev/null"})  # opens fine, the ioctl fails
    assert not_kvm.usable is False and "KVM ioctl failed" in not_kvm.detail


@requires_nix
def test_doctor_with_flakes_off_says_the_quick_tier_is_blocked_too(
    nix_env: dict[str, str],
) -> None:
    env = {**nix_env, "NIX_CONFIG": "experimental-features ="}
    res = run_vmtest(["doctor"], env)
    assert res.returncode == 3, res.output
    assert "not ready for the quick tier (nor the full tier): missing flakes" in res.stdout
    assert "ready for the quick" not in res.stdout.replace("not ready for the quick", "")


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


@requires_nix
def test_doctor_json_uses_camel_case_throughout(nix_env: dict[str, str]) -> None:
    env = {**nix_env, "NIX_CONFIG": "experimental-features =", "VMTEST_KVM_DEVICE": "/nonexistent"}
    data = json.loads(run_vmtest(["doctor", "--json"], env).stdout)
    keys = set(_keys(data))
    assert not [k for k in keys if "_" in k or "-" in k], keys
    assert {"neededFor", "missingForQuick", "missingForFull", "quickReady"} <= keys
    assert data["missingForQuick"] == ["flakes"]
    assert "/dev/kvm" in data["missingForFull"]
