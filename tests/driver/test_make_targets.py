"""`make test-vm-quick` in an unready environment says what to do, on both paths:
the venv's vmtest and the Nix-only fallback (nix/run-vmtest.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.nix  # make runs nix (or says it is missing)

ROOT = Path(__file__).resolve().parents[2]
# What the recipes need besides nix; each is linked into a PATH that has no nix.
TOOLS = ("make", "bash", "sh", "env", "python3", "git", "grep", "sed")
PATHS = {
    # The venv running these tests (`make test` made it: .venv, or another VENV=).
    "venv vmtest": [f"VENV={sys.prefix}"],
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


# A flake whose vmtest package needs an input nothing serves (nothing listens on port 9),
# as the project's does when nixpkgs cannot be fetched.
UNBUILDABLE_FLAKE = """{
  inputs.nixpkgs = { url = "https://127.0.0.1:9/nixpkgs.tar.gz"; flake = false; };
  outputs = { self, nixpkgs }: {
    packages.x86_64-linux.vmtest = import "${nixpkgs}/default.nix";
  };
}
"""


@pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")
def test_nix_only_fallback_that_cannot_build_vmtest_says_so_in_one_line(tmp_path: Path) -> None:
    """No venv, and vmtest cannot be built with Nix: one error line with Nix's reason (not
    each retry); the script exits 3 and make, whose recipe failed, exits 2."""
    flake = tmp_path / "flake"
    flake.mkdir()
    (flake / "flake.nix").write_text(UNBUILDABLE_FLAKE)
    env = {
        **os.environ,
        "NIX_CONFIG": "experimental-features = nix-command flakes\nsubstituters =",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "VMTEST_FLAKE": f"path:{flake}",
    }
    done = make_quick(env, ["BIN=/nonexistent"])
    assert done.returncode == 2, done.stderr
    assert "Error 3" in done.stderr  # make names the recipe's (the script's) exit code
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: cannot build vmtest with Nix (there is no .venv): ")
    assert "127.0.0.1:9" in errors[0]
    assert "retrying" not in done.stderr and "warning:" not in done.stderr
    assert "make venv" in done.stderr
