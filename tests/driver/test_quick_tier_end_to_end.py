"""The real quick-tier code (tests/unit) run through the real `vmtest quick`.

A tiny flake in tmp_path carries a copy of tests/unit/ and builds
`checks.<system>.unit-vm-analysis` from fixture data with the same rules, report
and derivation code as the project flake (only the NixOS evaluation is replaced
by fixture data, since no nixpkgs can be fetched here). Its manifest entry is the
real tests/unit/manifest-entries.nix. So the Nix output format and the CLI's
parser meet for real: exit code, findings, JSON report and JUnit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import check_by_name, junit_cases, load_json, ref, requires_nix, run_vmtest
from nixeval import REPO, eval_json

FLAKE = """\
{
  outputs =
    { self }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      fixtures = import ./fixtures.nix;
    in
    {
      # Where the project flake exports it (an output `nix flake check` knows).
      lib.vmtestManifest = {
        schemaVersion = 1;
        checks = import ./tests/unit/manifest-entries.nix;
      };
      checks = builtins.listToAttrs (
        map (system: {
          name = system;
          value.unit-vm-analysis = import ./tests/unit/fixtures/check.nix { inherit system fixtures; };
        }) systems
      );
    };
}
"""


def quick_flake(tmp_path: Path, fixtures: list[str]) -> Path:
    flake = tmp_path / "flake"
    shutil.copytree(REPO / "tests" / "unit", flake / "tests" / "unit")
    (flake / "flake.nix").write_text(FLAKE)
    listed = " ".join(f'"{name}"' for name in fixtures)
    (flake / "fixtures.nix").write_text(f"[ {listed} ]\n")
    return flake


@requires_nix
def test_broken_configuration_fails_with_each_finding(
    tmp_path: Path, nix_env: dict[str, str]
) -> None:
    flake = quick_flake(tmp_path, ["breaks.docker-enabled", "breaks.openssh-package"])
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run_vmtest(
        ["quick", "--flake", ref(flake), "--report", str(report), "--junit", str(junit)], nix_env
    )

    assert result.returncode == 1, result.output
    assert "Docker service not properly configured" in result.output
    assert "Missing required package: openssh" in result.output

    check = check_by_name(load_json(report), "unit-vm-analysis")
    assert check["status"] == "failed"
    errors = {(f["id"], f["message"]) for f in check["findings"] if f["severity"] == "error"}
    assert errors == {
        ("docker-enabled", "Docker service not properly configured"),
        ("openssh-package", "Missing required package: openssh"),
    }
    failed = {s["name"] for s in check["subtests"] if s["status"] == "failed"}
    assert failed == {"docker-enabled", "openssh-package"}

    cases = junit_cases(junit)
    failing = {name for (_, name), case in cases.items() if case.find("failure") is not None}
    assert failing == {"docker-enabled", "openssh-package"}


@requires_nix
def test_warnings_alone_pass_and_are_reported(tmp_path: Path, nix_env: dict[str, str]) -> None:
    flake = quick_flake(tmp_path, ["breaks.nixos-warnings"])
    report = tmp_path / "report.json"
    result = run_vmtest(["quick", "--flake", ref(flake), "--report", str(report)], nix_env)

    assert result.returncode == 0, result.output
    check = check_by_name(load_json(report), "unit-vm-analysis")
    assert check["status"] == "passed"
    severities = {(f["id"], f["severity"]) for f in check["findings"]}
    assert severities == {("nixos-warnings", "warning")}


@requires_nix
def test_passing_configuration_passes_every_rule(tmp_path: Path, nix_env: dict[str, str]) -> None:
    flake = quick_flake(tmp_path, ["passing"])
    report = tmp_path / "report.json"
    result = run_vmtest(["quick", "--flake", ref(flake), "--report", str(report)], nix_env)

    assert result.returncode == 0, result.output
    check = check_by_name(load_json(report), "unit-vm-analysis")
    assert check["findings"] == []
    statuses = {s["status"] for s in check["subtests"]}
    assert statuses == {"passed"}
    rule_ids = eval_json(f"(import {REPO / 'tests/unit/rules.nix'}).ruleIds")
    assert [s["name"] for s in check["subtests"]] == rule_ids
