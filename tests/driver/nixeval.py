"""Run the real `nix` from tests of the Nix side (quick tier, flake outputs).

Small on purpose: an environment with flakes turned on (without touching
`os.environ`), one runner, JSON evaluation of an expression, and the paths and
check names several test modules share. Works with
Nix 2.8 and newer (no `--print-out-paths`; `nix build --json` instead).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"
E2E = REPO / "tests" / "e2e"
# Flakes on, no substituters (no network here), builds without build users (not root).
NIX_CONFIG = "experimental-features = nix-command flakes\nsubstituters =\nbuild-users-group ="
# The six VM tests of tests/e2e/nixos-vm-test.nix, in manifest order (vm-test-suite runs them all).
VM_CHECKS = [
    "vm-build-test",
    "vm-generation-test",
    "vm-service-test",
    "platform-validation-test",
    "vm-config-integrity-test",
    "vm-execution-test",
]


class NixFailed(AssertionError):
    """A nix command failed where the test expected it to succeed."""


def nix_env() -> dict[str, str]:
    """The current environment plus `NIX_CONFIG` (appended), as a new dict."""
    env = dict(os.environ)
    env["NIX_CONFIG"] = (env.get("NIX_CONFIG", "") + "\n" + NIX_CONFIG).strip()
    return env


def run(
    argv: list[str], *, cwd: Path = REPO, timeout: float | None = 300
) -> subprocess.CompletedProcess[str]:
    """Run a nix command; never raises on a non-zero exit."""
    return subprocess.run(
        argv,
        cwd=cwd,
        env=nix_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def checked(argv: list[str], *, cwd: Path = REPO) -> str:
    """Run a nix command that must succeed; its stdout."""
    proc = run(argv, cwd=cwd)
    if proc.returncode != 0:
        raise NixFailed(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def eval_json(expr: str) -> Any:
    """Evaluate a Nix expression strictly and return it as JSON data."""
    return json.loads(checked(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr]))
