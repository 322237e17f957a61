"""`make test-vm-quick` in an unready environment says what to do, on both paths:
the venv's vmtest and the Nix-only fallback (nix/run-vmtest.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the recipes need besides nix; each is linked into a PATH that has no nix.
TOOLS = ("make", "bash", "sh", "env", "python3", "git", "grep", "sed")
PATHS = {
    "venv vmtest": [],  # .venv/bin/vmtest exists: `make test` made the venv
    "nix-only fallback": ["BIN=/nonexistent"],
}


def path_without_nix(tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed for this test"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def make_quick(env: dict[str, str], extra: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "test-vm-quick", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("extra", PATHS.values(), ids=PATHS.keys())
def test_without_nix_it_says_how_to_install_it(tmp_path: Path, extra: list[str]) -> None:
    env = {"PATH": path_without_nix(tmp_path), "HOME": str(tmp_path)}
    done = make_quick(env, extra)
    assert done.returncode != 0
    assert "error: nix is not installed" in done.stderr
    assert "apt-get install nix-bin" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")
@pytest.mark.parametrize("extra", PATHS.values(), ids=PATHS.keys())
def test_with_flakes_off_it_says_how_to_enable_them(tmp_path: Path, extra: list[str]) -> None:
    env = {**os.environ, "NIX_CONFIG": "experimental-features =", "HOME": str(tmp_path)}
    done = make_quick(env, extra)
    assert done.returncode != 0
    assert "flakes are disabled" in done.stderr
    assert "experimental-features = nix-command flakes" in done.stderr
    assert "Traceback" not in done.stderr
