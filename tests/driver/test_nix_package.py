"""nix/package.nix and nix/devshell.nix cannot be built here (no nixpkgs); evaluate
them with the real nix against minimal stand-ins for nixpkgs' functions, so a typo,
a missing argument or a wrong pyproject path still fails `make test`."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import requires_nix

ROOT = Path(__file__).resolve().parents[2]

STUBS = """
let
  lib = {
    fileset = {
      unions = files: files;
      toSource = { root, fileset }: { inherit root; files = map toString fileset; };
    };
    licenses.mit = "mit";
    platforms = { linux = [ "x86_64-linux" ]; darwin = [ "aarch64-darwin" ]; };
  };
  py = {
    buildPythonApplication = attrs: attrs // { type = "app"; };
    setuptools = "setuptools"; typer = "typer"; pydantic = "pydantic"; rich = "rich";
    pytest = "pytest"; mypy = "mypy"; pyflakes = "pyflakes"; pyyaml = "pyyaml";
    types-pyyaml = "types-pyyaml";
  };
  pkg = import ROOT/nix/package.nix { python3Packages = py; inherit lib; };
  shell = import ROOT/nix/devshell.nix {
    mkShell = attrs: attrs;
    vmtest = "vmtest";
    python3 = { withPackages = f: f py; };
    ruff = "ruff"; actionlint = "actionlint"; nixfmt = "nixfmt"; gnumake = "gnumake";
  };
in
{
  inherit (pkg) pname version pyproject dependencies doCheck;
  files = pkg.src.files;
  main = pkg.meta.mainProgram;
  shellPackages = builtins.length shell.packages;
  python = builtins.elemAt shell.packages 0;
}
"""


@requires_nix
@pytest.mark.nix
def test_package_reads_version_from_pyproject() -> None:
    expr = STUBS.replace("ROOT", str(ROOT))
    done = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert got["version"] == version
    assert got["pname"] == "vmtest" and got["main"] == "vmtest" and got["pyproject"] is True
    assert got["dependencies"] == ["typer", "pydantic", "rich"]
    assert {Path(f).name for f in got["files"]} == {"pyproject.toml", "README.md", "driver"}
    assert got["shellPackages"] == 6 and "pytest" in got["python"]
