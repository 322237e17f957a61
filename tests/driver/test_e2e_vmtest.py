"""`vmtest run` on the full tier's real Nix code (tests/e2e) built against the stand-in nixpkgs.

A fixture flake made in tmp_path exposes fixtures/e2e/stub.nix's checks and the real
manifest entries, so `vmtest` evaluates, builds and reports the four booted checks and
the suite with the real nix. The stand-in driver runs each real testScript; no VM boots.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import check_by_name, junit_cases, load_json, ref, run_vmtest
from nixeval import REPO
from test_e2e_nix_pipeline import builders_see_host_python

pytestmark = pytest.mark.skipif(
    not builders_see_host_python(),
    reason="needs nix whose builders can run the host's python3 (no build sandbox)",
)

FLAKE = """{
  outputs = { self }: {
    checks.x86_64-linux = (import ./tests/driver/fixtures/e2e/stub.nix {
      system = "x86_64-linux";
      answers = ANSWERS;
    }).checks;
    vmtestManifest = {
      schemaVersion = 1;
      checks = import ./tests/e2e/manifest-entries.nix;
    };
  };
}
"""


def e2e_flake(tmp_path: Path, answers: str = "[ ]") -> Path:
    tree = tmp_path / "flake"
    shutil.copytree(REPO / "tests/e2e", tree / "tests/e2e")
    shutil.copytree(REPO / "tests/driver/fixtures/e2e", tree / "tests/driver/fixtures/e2e")
    (tree / "flake.nix").write_text(FLAKE.replace("ANSWERS", answers))
    return tree


def test_a_failing_booted_check_reports_its_subtests_and_the_commands_output(
    tmp_path: Path, nix_env: dict[str, str]
) -> None:
    flake = e2e_flake(tmp_path, '[ [ "^id -nG alice$" 1 "id: alice: no such user\\n" ] ]')
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["run", "vm-service-test", "vm-execution-test", "--allow-tcg", "--flake", ref(flake)]
    res = run_vmtest([*args, "--report", str(report), "--junit", str(junit)], nix_env, 120)
    assert res.returncode == 1, res.output
    data = load_json(report)
    service = check_by_name(data, "vm-service-test")
    assert service["status"] == "failed"
    statuses = [(s["name"], s["status"]) for s in service["subtests"]]
    assert statuses[3:] == [
        ("password login over SSH is refused", "passed"),
        ("test user is in the wheel and docker groups", "failed"),
    ]
    assert service["subtests"][-1]["message"] == (
        "RequestedAssertionFailed: command `id -nG alice` failed (exit code 1)\n"
        "last output lines:\n"
        "id: alice: no such user"
    )
    assert check_by_name(data, "vm-execution-test")["status"] == "passed"
    failure = junit_cases(junit)[("vm-service-test", "test user is in the wheel and docker groups")]
    assert "id: alice: no such user" in (failure.findtext("failure") or "")


def test_the_suite_passes_with_every_subtest_of_the_six(
    tmp_path: Path, nix_env: dict[str, str]
) -> None:
    report = tmp_path / "r.json"
    args = ["run", "vm-test-suite", "--allow-tcg", "--flake", ref(e2e_flake(tmp_path))]
    res = run_vmtest([*args, "--report", str(report)], nix_env, 120)
    assert res.returncode == 0, res.output
    suite = check_by_name(load_json(report), "vm-test-suite")
    assert suite["status"] == "passed"
    # The manifest's subtests of vm-test-suite: the six checks' 3 + 3 + 9 + 4 + 6 + 4.
    assert len(suite["subtests"]) == 29
    assert {s["status"] for s in suite["subtests"]} == {"passed"}
