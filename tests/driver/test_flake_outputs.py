"""The project flake's nixpkgs-free outputs, evaluated offline with the real nix.

The flake is copied (its git-visible files) to a temporary directory and used
as a `path:` flake. The manifest and the names of the checks and of the NixOS
configurations must evaluate without nixpkgs: the nixpkgs input is replaced
(`--override-input`) by a flake whose outputs throw, so touching it fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from nixeval import REPO, UNIT, checked, eval_json, run

SYSTEMS = ["x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"]
PIN = {
    "rev": "02e08985a27c65ffd33d434eeb2e660a2e4dc84d",
    "narHash": "sha256-QvnceIGTBeDvDd9oCn+GvdsnkquliuwbVgpiRH68qaQ=",
    "lastModified": 1786711500,
}


@pytest.fixture(scope="module")
def flake(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The project's tracked and untracked-but-not-ignored files, as a path: flake."""
    dest = tmp_path_factory.mktemp("flake")
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return f"path:{dest}"


@pytest.fixture(scope="module")
def poison(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A stand-in nixpkgs whose evaluation fails loudly."""
    path = tmp_path_factory.mktemp("poisoned-nixpkgs")
    (path / "flake.nix").write_text(
        '{ outputs = _: throw "nixpkgs was evaluated"; }\n', encoding="utf-8"
    )
    return f"path:{path}"


def nix_eval(ref: str, *extra: str) -> Any:
    return json.loads(checked(["nix", "eval", "--json", ref, *extra]))


def test_manifest_evaluates_and_has_the_quick_entry(flake: str, poison: str) -> None:
    manifest = nix_eval(f"{flake}#lib.vmtestManifest")
    assert manifest == nix_eval(
        f"{flake}#lib.vmtestManifest", "--override-input", "nixpkgs", poison
    )
    assert manifest["schemaVersion"] == 1
    (quick,) = [c for c in manifest["checks"] if c["name"] == "unit-vm-analysis"]
    assert quick == {
        "name": "unit-vm-analysis",
        "attr": "checks.{system}.unit-vm-analysis",
        "tier": "quick",
        "systems": SYSTEMS,
        "requiresKvm": False,
        "timeoutSeconds": 30,
        "description": quick["description"],
        "subtests": eval_json(f"(import {UNIT / 'rules.nix'}).ruleIds"),
    }
    assert quick["description"]


def test_manifest_validates_against_the_cli_model(flake: str) -> None:
    manifest_module = pytest.importorskip("vmtest.checks.manifest")
    text = checked(["nix", "eval", "--json", f"{flake}#lib.vmtestManifest"])
    parsed = manifest_module.parse_manifest(text)
    assert "unit-vm-analysis" in parsed.by_name()


@pytest.mark.parametrize("system", SYSTEMS)
def test_check_names_match_the_manifest_without_nixpkgs(
    flake: str, poison: str, system: str
) -> None:
    manifest = nix_eval(f"{flake}#lib.vmtestManifest")
    expected = sorted(c["name"] for c in manifest["checks"] if system in c["systems"])
    names = nix_eval(
        f"{flake}#checks.{system}",
        "--apply",
        "builtins.attrNames",
        "--override-input",
        "nixpkgs",
        poison,
    )
    assert names == expected
    assert "unit-vm-analysis" in names


def test_nixos_configuration_names(flake: str, poison: str) -> None:
    names = nix_eval(
        f"{flake}#nixosConfigurations",
        "--apply",
        "builtins.attrNames",
        "--override-input",
        "nixpkgs",
        poison,
    )
    assert names == ["vm", "vm-aarch64"]


def test_the_poisoned_nixpkgs_does_fail_when_touched(flake: str, poison: str) -> None:
    # Proves the stand-in bites: a NixOS configuration needs nixpkgs.lib.
    proc = run(
        [
            "nix",
            "eval",
            f"{flake}#nixosConfigurations.vm.config.networking.hostName",
            "--override-input",
            "nixpkgs",
            poison,
        ]
    )
    assert proc.returncode != 0
    assert "nixpkgs was evaluated" in proc.stderr


# The outputs `nix flake check` knows (NixOS/nix src/nix/flake.cc at
# 003b64476e3bb3cb8159512fbdb612425d3c088a): checked ones, and the "known but
# unchecked community" ones (lib, darwinConfigurations, homeConfigurations, ...).
# Any other name gets "warning: unknown flake output".
KNOWN_OUTPUTS = {
    "apps",
    "checks",
    "devShells",
    "formatter",
    "legacyPackages",
    "nixosConfigurations",
    "nixosModules",
    "overlays",
    "packages",
    "templates",
    "lib",
}


def test_every_output_is_one_nix_flake_check_knows(flake: str) -> None:
    names = eval_json_impure(f'builtins.attrNames (builtins.getFlake "{flake}").outputs')
    assert set(names) <= KNOWN_OUTPUTS, set(names) - KNOWN_OUTPUTS
    assert "vmtestManifest" not in names


def eval_json_impure(expr: str) -> Any:
    return json.loads(checked(["nix", "eval", "--impure", "--json", "--expr", expr]))


@pytest.mark.parametrize("system", SYSTEMS)
def test_apps_have_a_description_without_nixpkgs(flake: str, poison: str, system: str) -> None:
    # Nix warns about apps without meta.description (NixOS/nix#11297).
    for app in ["vmtest", "default"]:
        description = nix_eval(
            f"{flake}#apps.{system}.{app}.meta.description", "--override-input", "nixpkgs", poison
        )
        assert description == "Select, run and report the NixOS VM test checks of a flake"


STUB_NIXPKGS = """
# Stands in for nixpkgs 26.05's x86_64-darwin deprecation warning, which its
# `config.allowDeprecatedx86_64Darwin = true` silences (nixpkgs PR #492100).
{ system, config ? { } }:
let
  warn = system == "x86_64-darwin" && !(config.allowDeprecatedx86_64Darwin or false);
  pkgs = {
    callPackage = _fn: args: { type = "derivation"; name = "stub-${system}"; } // args;
  };
in
if warn then
  builtins.trace "evaluation warning: Nixpkgs 26.05 will be the last release to support x86_64-darwin" pkgs
else
  pkgs
"""


@pytest.fixture(scope="module")
def stub_nixpkgs(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("stub-nixpkgs")
    (path / "default.nix").write_text(STUB_NIXPKGS, encoding="utf-8")
    (path / "flake.nix").write_text(
        "{ outputs = _: { legacyPackages = builtins.listToAttrs (map (system: {"
        " name = system; value = import ./. { inherit system; }; }) "
        + json.dumps(SYSTEMS).replace(",", "")
        + "); }; }\n",
        encoding="utf-8",
    )
    return f"path:{path}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_no_deprecation_warning_for_any_system(flake: str, stub_nixpkgs: str, system: str) -> None:
    for attr in [f"packages.{system}.vmtest.name", f"devShells.{system}.default.name"]:
        proc = run(
            [
                "nix",
                "eval",
                "--json",
                f"{flake}#{attr}",
                "--override-input",
                "nixpkgs",
                stub_nixpkgs,
            ]
        )
        assert proc.returncode == 0, proc.stderr
        assert "evaluation warning" not in proc.stderr, proc.stderr


def test_the_stub_nixpkgs_does_warn_on_x86_64_darwin(stub_nixpkgs: str) -> None:
    # Proves the stand-in bites: its legacyPackages (no config) warn.
    proc = run(
        [
            "nix",
            "eval",
            "--json",
            f"{stub_nixpkgs}#legacyPackages.x86_64-darwin.callPackage",
            "--apply",
            "f: (f null { }).name",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert "evaluation warning: Nixpkgs 26.05 will be the last release" in proc.stderr


def test_lock_pins_nixos_26_05() -> None:
    lock = json.loads((REPO / "flake.lock").read_text(encoding="utf-8"))
    assert lock["version"] == 7
    assert lock["root"] == "root"
    assert lock["nodes"]["root"]["inputs"] == {"nixpkgs": "nixpkgs"}
    node = lock["nodes"]["nixpkgs"]
    assert node["original"] == {
        "owner": "NixOS",
        "repo": "nixpkgs",
        "ref": "nixos-26.05",
        "type": "github",
    }
    assert node["locked"] == {"owner": "NixOS", "repo": "nixpkgs", "type": "github", **PIN}


def test_lock_matches_flake_inputs(flake: str) -> None:
    # Nix accepts the lock for this flake.nix as is (no re-locking needed).
    metadata = json.loads(checked(["nix", "flake", "metadata", "--json", flake]))
    locked = metadata["locks"]["nodes"]["nixpkgs"]["locked"]
    assert locked["rev"] == PIN["rev"]
    assert locked["narHash"] == PIN["narHash"]


def test_unit_entry_points_parse() -> None:
    for path in sorted(Path(UNIT).rglob("*.nix")):
        checked(["nix-instantiate", "--parse", str(path)])
