"""The full-tier suite's single source of truth: manifest, scripts and composed script agree."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from nixeval import E2E, REPO, VM_CHECKS, eval_json
from vmtest.scriptlint import compose_suite_script, load_suite, subtest_names

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


def test_nix_composes_the_same_driver_script_as_scriptlint() -> None:
    from_nix = eval_json("(import ./tests/e2e/suite.nix).composedScriptTemplate")
    composed = compose_suite_script(REPO)
    assert from_nix == composed.text
    ast.parse(from_nix)  # valid Python as composed
    for name, _ in load_suite(REPO).boot_scripts:
        assert f'with vmtest_case("{name}"):\n' in from_nix


def test_composed_script_maps_lines_back_to_each_script() -> None:
    composed = compose_suite_script(REPO)
    lines = composed.text.split("\n")
    for name, script in load_suite(REPO).boot_scripts:
        source = (REPO / script).read_text().split("\n")
        header = lines.index(f'with vmtest_case("{name}"):')
        located = composed.locate(header + 2)  # the line after the header, 1-based
        assert located == (script, 1)
        assert lines[header + 1] == ("    " + source[0] if source[0] else "")


def test_booted_checks_share_one_run_order_ending_with_the_shutdown() -> None:
    order = [name for name, _ in load_suite(REPO).boot_scripts]
    assert sorted(order) == sorted(VM_CHECKS[2:])
    # vm-execution-test powers the server off, so it must run last.
    assert order[-1] == "vm-execution-test"


def test_runner_placeholders_are_the_expected_attributes() -> None:
    prelude = (E2E / "runner/prelude.py").read_text()
    placeholders = set(re.findall(r'"@([a-z0-9_]+)@"', prelude))
    tree = ast.parse(prelude)
    expected = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Expected")
    attributes = {
        s.target.id
        for s in expected.body
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
    }
    assert {p.removesuffix("_json") for p in placeholders} == attributes
    facts = (E2E / "nixos-vm-test.nix").read_text()
    for placeholder in placeholders:
        assert re.search(rf"^\s+{placeholder} =", facts, re.MULTILINE), placeholder


def test_every_nix_file_of_the_suite_parses() -> None:
    files = sorted(E2E.glob("*.nix"))
    assert len(files) >= 4
    subprocess.run(
        ["nix-instantiate", "--parse", *map(str, files)], check=True, capture_output=True
    )
