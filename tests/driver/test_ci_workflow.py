"""The CI workflow and the setup-nix action keep the spec's contracts."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "spec" / "vm-testing-design.md"
SHARED_SPEC = ROOT.parent / "shared" / "spec" / "vm-testing-design.md"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTION = ROOT / ".github" / "actions" / "setup-nix" / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def load(path: Path) -> Any:
    # PyYAML reads the key `on` as True; nothing here depends on it.
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def spec_vm_test_job() -> Any:
    text = SPEC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(vm-test:\n.*?)```", text, re.DOTALL)
    assert block is not None, "the spec's vm-test job block was not found"
    return yaml.safe_load(block.group(1))["vm-test"]


def test_vm_test_job_is_the_spec_job_verbatim() -> None:
    workflow_job = load(WORKFLOW)["jobs"]["vm-test"]
    assert workflow_job == spec_vm_test_job()


def test_vm_test_run_lines_are_unchanged() -> None:
    run = load(WORKFLOW)["jobs"]["vm-test"]["steps"][-1]["run"]
    assert run.splitlines() == [
        "export USER=${USER:-ci}",
        "nix build --impure .#checks.x86_64-linux.vm-test-suite",
        "cat result || true",
    ]


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no shared/ spec beside this checkout")
def test_docs_spec_is_the_approved_spec() -> None:
    assert SPEC.read_bytes() == SHARED_SPEC.read_bytes()


def test_workflow_has_least_permissions_and_cancels_superseded_runs() -> None:
    workflow = load(WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    concurrency = workflow["concurrency"]
    assert "github.ref" in concurrency["group"]
    assert "pull_request" in concurrency["cancel-in-progress"]


def test_validate_runs_the_offline_suite_and_the_quick_tier() -> None:
    steps = load(WORKFLOW)["jobs"]["validate"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any(run.startswith("make test\n") or run == "make test" for run in runs)
    assert any(run.startswith("make test-vm-quick") for run in runs)


def test_third_party_actions_are_pinned_by_commit() -> None:
    uses = [step["uses"] for step in load(ACTION)["runs"]["steps"] if "uses" in step]
    uses += [
        step["uses"]
        for name, job in load(WORKFLOW)["jobs"].items()
        if name != "vm-test"  # the spec's job keeps actions/checkout@v4 verbatim
        for step in job["steps"]
        if "uses" in step and not step["uses"].startswith("./")
    ]
    assert uses, "no third-party actions found"
    unpinned = [use for use in uses if not PINNED.match(use)]
    assert unpinned == []


def test_setup_nix_declares_enable_kvm_off_by_default() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["enable-kvm"]["default"] == "false"
    steps = action["runs"]["steps"]
    kvm_steps = [step for step in steps if step.get("if") == "inputs.enable-kvm == 'true'"]
    assert len(kvm_steps) == 2, "opening /dev/kvm and checking it both depend on enable-kvm"
    assert "0xAE00" in kvm_steps[1]["run"], "the check must do a real KVM ioctl"
    install = next(step for step in steps if "install-nix-action" in step.get("uses", ""))
    config = install["with"]["extra_nix_config"]
    assert "experimental-features = nix-command flakes" in config
    assert "extra-system-features = kvm nixos-test" in config


def kvm_opens() -> bool:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def test_setup_nix_kvm_check_runs_and_agrees_with_this_machine(tmp_path: Path) -> None:
    # The step's own shell script, run as the runner would run it (bash).
    step = next(s for s in load(ACTION)["runs"]["steps"] if s.get("name") == "Check that KVM works")
    script = tmp_path / "kvm-check.sh"
    script.write_text(step["run"], encoding="utf-8")
    done = subprocess.run(
        ["bash", "-e", str(script)], capture_output=True, text=True, timeout=30, check=False
    )
    if kvm_opens():
        assert done.returncode == 0, done.stdout + done.stderr
        assert "KVM usable (API version 12)" in done.stdout
    else:
        assert done.returncode == 1
        assert "::error title=KVM unavailable::" in done.stdout
