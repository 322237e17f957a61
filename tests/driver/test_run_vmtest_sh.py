"""`nix/run-vmtest.sh` (vmtest with Nix alone) started outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from nixeval import NIX_CONFIG

SCRIPT = Path(__file__).resolve().parents[2] / "nix" / "run-vmtest.sh"

pytestmark = pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")


def run_script(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "VMTEST_FLAKE"}
    full = {**inherited, "NIX_CONFIG": NIX_CONFIG, "HOME": str(cwd), **env}
    return subprocess.run(
        ["bash", str(SCRIPT), "quick"],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_outside_any_flake_it_says_what_to_do(tmp_path: Path) -> None:
    done = run_script(tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(
        f"error: no flake.nix in {tmp_path} or above it, so there is no vmtest to build."
    )
    assert "run it from the nixos-vmtest repository" in done.stderr
    assert f"VMTEST_FLAKE=/path/to/nixos-vmtest {SCRIPT} ARGS" in done.stderr
    assert "could not find a flake.nix file" not in done.stderr


def test_vmtest_flake_names_the_flake_from_anywhere(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "flake.nix").write_text("{ outputs = { self }: { }; }\n")
    done = run_script(tmp_path, VMTEST_FLAKE=f"path:{empty}")
    # Past the check: Nix was asked, and said this flake has no vmtest.
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: cannot build vmtest with Nix (there is no .venv): ")
    assert "vmtest" in done.stderr and "no flake.nix in" not in done.stderr
