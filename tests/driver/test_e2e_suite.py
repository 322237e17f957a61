"""The full-tier suite's single source of truth: manifest, scripts and composed script agree."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from vmtest.scriptlint import compose_suite_script, load_suite, subtest_names

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests/e2e"
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
SIX = [
    "vm-build-test",
    "vm-generation-test",
    "vm-service-test",
    "platform-validation-test",
    "vm-config-integrity-test",
    "vm-execution-test",
]

pytestmark = pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix")


def nix_eval(expr: str) -> Any:
    proc = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    result = nix_eval("import ./tests/e2e/manifest-entries.nix")
    assert isinstance(result, list)
    return result


def test_manifest_lists_the_seven_full_checks_with_exact_fields(
    entries: list[dict[str, Any]],
) -> None:
    assert [e["name"] for e in entries] == [*SIX, "vm-test-suite"]
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
    assert all(kvm[n] for n in [*SIX[1:], "vm-test-suite"])


def test_manifest_subtests_are_the_scripts_subtests(entries: list[dict[str, Any]]) -> None:
    suite = json.loads((E2E / "suite.json").read_text())
    scripts = {c["name"]: E2E / c["script"] for c in suite["checks"]}
    by_name = {e["name"]: e for e in entries}
    for name in SIX:
        from_ast = subtest_names(scripts[name].read_text())
        assert from_ast, f"{name} has no subtests"
        assert by_name[name]["subtests"] == from_ast, name
    union = [s for name in SIX for s in by_name[name]["subtests"]]
    assert by_name["vm-test-suite"]["subtests"] == union
    assert len(set(union)) == len(union), "subtest names must be unique across the suite"


def test_manifest_evaluates_through_the_flake_manifest_file() -> None:
    proc = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", str(ROOT / "nix/manifest.nix")],
        capture_output=True,
        text=True,
        check=True,
    )
    manifest = json.loads(proc.stdout)
    assert manifest["schemaVersion"] == 1
    names = [c["name"] for c in manifest["checks"]]
    assert [n for n in names if n in SIX or n == "vm-test-suite"] == [*SIX, "vm-test-suite"]


def test_nix_composes_the_same_driver_script_as_scriptlint() -> None:
    from_nix = nix_eval("(import ./tests/e2e/suite.nix).composedScriptTemplate")
    composed = compose_suite_script(ROOT)
    assert from_nix == composed.text
    ast.parse(from_nix)  # valid Python as composed
    for name, _ in load_suite(ROOT).boot_scripts:
        assert f'with vmtest_case("{name}"):\n' in from_nix


def test_composed_script_maps_lines_back_to_each_script() -> None:
    composed = compose_suite_script(ROOT)
    lines = composed.text.split("\n")
    for name, script in load_suite(ROOT).boot_scripts:
        source = (ROOT / script).read_text().split("\n")
        header = lines.index(f'with vmtest_case("{name}"):')
        located = composed.locate(header + 2)  # the line after the header, 1-based
        assert located == (script, 1)
        assert lines[header + 1] == ("    " + source[0] if source[0] else "")


def test_booted_checks_share_one_run_order_ending_with_the_shutdown() -> None:
    order = [name for name, _ in load_suite(ROOT).boot_scripts]
    assert sorted(order) == sorted(SIX[2:])
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
