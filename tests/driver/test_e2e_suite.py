"""The full-tier suite's single source of truth: manifest, scripts and testScripts agree."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from typing import Any

import pytest
from nixeval import E2E, REPO, VM_CHECKS, eval_json
from vmtest.scriptlint.lint import check_script, load_suite, subtest_names

ENTRY_FIELDS = {
    "name",
    "attr",
    "tier",
    "systems",
    "requiresKvm",
    "timeoutSeconds",
    "description",
    "subtests",
}

pytestmark = pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix")


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    result = eval_json("import ./tests/e2e/manifest-entries.nix")
    assert isinstance(result, list)
    return result


def test_manifest_lists_the_seven_full_checks_with_exact_fields(
    entries: list[dict[str, Any]],
) -> None:
    assert [e["name"] for e in entries] == [*VM_CHECKS, "vm-test-suite"]
    for entry in entries:
        assert set(entry) == ENTRY_FIELDS, entry["name"]
        assert entry["tier"] == "full"
        assert entry["systems"] == ["x86_64-linux"]
        assert entry["attr"] == f"checks.x86_64-linux.{entry['name']}"
        assert isinstance(entry["timeoutSeconds"], int)
        assert entry["timeoutSeconds"] > 0
        assert entry["description"]
        assert entry["subtests"]
    kvm = {e["name"]: e["requiresKvm"] for e in entries}
    assert kvm["vm-build-test"] is False
    # The image is made inside nixpkgs' build VM (vmTools.runInLinuxVM needs kvm).
    assert all(kvm[n] for n in [*VM_CHECKS[1:], "vm-test-suite"])


def test_manifest_subtests_are_the_scripts_subtests(entries: list[dict[str, Any]]) -> None:
    suite = json.loads((E2E / "suite.json").read_text())
    scripts = {c["name"]: E2E / c["script"] for c in suite["checks"]}
    by_name = {e["name"]: e for e in entries}
    for name in VM_CHECKS:
        from_ast = subtest_names(scripts[name].read_text())
        assert from_ast, f"{name} has no subtests"
        assert by_name[name]["subtests"] == from_ast, name
    union = [s for name in VM_CHECKS for s in by_name[name]["subtests"]]
    assert by_name["vm-test-suite"]["subtests"] == union
    assert len(set(union)) == len(union), "subtest names must be unique across the suite"


def test_manifest_evaluates_through_the_flake_manifest_file() -> None:
    manifest = eval_json("import ./nix/manifest.nix")
    assert manifest["schemaVersion"] == 1
    names = [c["name"] for c in manifest["checks"]]
    assert [n for n in names if n in VM_CHECKS or n == "vm-test-suite"] == [
        *VM_CHECKS,
        "vm-test-suite",
    ]


def test_nix_builds_each_test_script_exactly_as_scriptlint_checks_it() -> None:
    facts = "/nix/store/" + "f" * 32 + "-facts.json"
    for check in load_suite(REPO).boot_checks:
        from_nix = eval_json(
            "let suite = import ./tests/e2e/suite.nix; "
            f'check = builtins.head (builtins.filter (c: c.name == "{check.name}") suite.checks); '
            f'in suite.testScript check "{facts}"'
        )
        checked = check_script(REPO, check, facts)
        assert from_nix == checked.text, check.name
        ast.parse(from_nix)
        # The script itself is the end of its testScript, unchanged, and maps back to line 1.
        script = (REPO / check.script).read_text()
        assert from_nix.endswith(script)
        first = checked.text.count("\n") - script.count("\n") + 1
        assert checked.locate(first) == (check.script, 1)


def test_timeouts_are_consistent_between_the_checks_the_suite_and_ci() -> None:
    suite = json.loads((E2E / "suite.json").read_text())
    limit = suite["suite"]["timeoutSeconds"]
    assert limit <= 15 * 60  # the spec's vm-test job: timeout-minutes: 15
    for check in suite["checks"]:
        assert 0 < check["timeoutSeconds"] <= limit, check["name"]


def test_each_booted_check_has_only_the_nodes_it_uses() -> None:
    for check in load_suite(REPO).boot_checks:
        script = (REPO / check.script).read_text()
        used = {n for n in ("server", "client") if f"{n}." in script}
        assert set(check.nodes) == used, check.name


def test_every_nix_file_of_the_suite_parses() -> None:
    files = sorted(E2E.glob("*.nix"))
    assert len(files) >= 4
    subprocess.run(
        ["nix-instantiate", "--parse", *map(str, files)], check=True, capture_output=True
    )
