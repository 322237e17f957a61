"""tests/e2e/nixos-vm-test.nix evaluated and built with the real nix against a stand-in nixpkgs.

fixtures/e2e/stub.nix replaces nixpkgs and the flake with `/bin/sh` derivations, so the
probes, judges and vm-test-suite really build here; the shared driver run is replaced by
a given results file (no VM boots: nothing here shows how a real VM behaves).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from nixeval import REPO, VM_CHECKS, eval_json, run
from vmtest.scriptlint import compose_suite_script

STUB = REPO / "tests/driver/fixtures/e2e/stub.nix"


def builders_see_host_python() -> bool:
    """The stand-in runs the host's python3 in builders (PATH as stub.nix's `hostPath`):
    fine without a build sandbox (Debian's nix-bin sets `sandbox = false`), hidden by one."""
    if shutil.which("nix-build") is None:
        return False
    probe = (
        'derivation { name = "vmtest-host-python-probe"; system = builtins.currentSystem; '
        'builder = "/bin/sh"; PATH = "/usr/local/bin:/usr/bin:/bin"; '
        'args = [ "-c" "python3 -c pass && echo ok > $out" ]; '
        f'nonce = "{os.getpid()}-{time.time_ns()}"; }}'  # built anew, never a cached result
    )
    return run(["nix-build", "--no-out-link", "-E", probe], timeout=None).returncode == 0


pytestmark = pytest.mark.skipif(
    not builders_see_host_python(),
    reason="needs nix whose builders can run the host's python3 (no build sandbox)",
)


def stub_expr(results: Path, **args: str) -> str:
    extra = " ".join(f"{k} = {v};" for k, v in args.items())
    return f"import {STUB} {{ bootResults = {results}; {extra} }}"


def build(expr: str, attr: str) -> subprocess.CompletedProcess[str]:
    return run(["nix-build", "--no-out-link", "-E", expr, "-A", attr], timeout=None)


def built_path(expr: str, attr: str) -> Path:
    proc = build(expr, attr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(proc.stdout.strip().splitlines()[-1])


def manifest() -> dict[str, list[str]]:
    entries = eval_json(f"import {REPO}/tests/e2e/manifest-entries.nix")
    return {e["name"]: e["subtests"] for e in entries}


def boot_results(tmp_path: Path, failing: tuple[str, str] | None = None) -> Path:
    cases = []
    subtests_of = manifest()
    for name in VM_CHECKS[2:]:
        subtests: list[dict[str, Any]] = []
        error: str | None = None
        for sub in subtests_of[name]:
            if error is not None:
                break  # a script stops at its first failure
            if failing == (name, sub):
                error = f"RequestedAssertionFailed: stand-in failure of {sub!r}"
                subtests.append({"name": sub, "status": "failed", "error": error})
            else:
                subtests.append({"name": sub, "status": "passed", "error": None})
        status = "failed" if error else "passed"
        cases.append({"name": name, "status": status, "error": error, "subtests": subtests})
    path = tmp_path / "boot-results.json"
    path.write_text(json.dumps({"schemaVersion": 1, "cases": cases}))
    return path


def test_the_file_defines_exactly_the_seven_checks(tmp_path: Path) -> None:
    names = eval_json(f"builtins.attrNames ({stub_expr(boot_results(tmp_path))}).checks")
    assert sorted(names) == sorted([*VM_CHECKS, "vm-test-suite"])


def test_all_passing_results_build_every_check_and_the_suite(tmp_path: Path) -> None:
    expr = stub_expr(boot_results(tmp_path))
    for name in VM_CHECKS:
        text = built_path(expr, f"checks.{name}").read_text()
        assert text.startswith(f"PASSED  {name} ("), text
    out = built_path(expr, "checks.vm-test-suite")
    assert out.is_file()
    assert out.read_text().startswith("vm-test-suite: PASSED (6 of 6 checks passed)\n")
    report = built_path(expr, "checks.vm-test-suite.report")
    assert sorted(p.name for p in report.iterdir()) == [
        "junit.xml",
        "report.json",
    ]
    data = json.loads((report / "report.json").read_text())
    assert [c["name"] for c in data["checks"]] == VM_CHECKS
    assert data["summary"] == {"checks": 6, "passed": 6, "failed": 0}


def test_a_failed_subtest_fails_its_check_and_the_suite_but_not_the_others(tmp_path: Path) -> None:
    failing = ("vm-service-test", "password login over SSH is refused")
    expr = stub_expr(boot_results(tmp_path, failing))
    proc = build(expr, "checks.vm-service-test")
    assert proc.returncode != 0
    assert "FAILED   password login over SSH is refused" in proc.stderr
    assert "not-run  test user is in the wheel and docker groups" in proc.stderr
    for name in ["vm-execution-test", "platform-validation-test", "vm-build-test"]:
        assert build(expr, f"checks.{name}").returncode == 0, name
    suite = build(expr, "checks.vm-test-suite")
    assert suite.returncode != 0
    assert "vm-test-suite: FAILED (5 of 6 checks passed)" in suite.stderr


def test_the_driver_script_is_the_composed_script_with_the_facts_filled_in(tmp_path: Path) -> None:
    expr = stub_expr(boot_results(tmp_path))
    run = built_path(expr, "checks.vm-service-test.results")
    script = (run / "test-script").read_text()
    tree = ast.parse(script)
    expected = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Expected")
    values: dict[str, str] = {}
    for stmt in expected.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            node = stmt.value
            if isinstance(node, ast.Call):  # json.loads("<json>")
                node = node.args[0]
                values[stmt.target.id + "_json"] = ast.literal_eval(node)
            else:
                values[stmt.target.id] = ast.literal_eval(node)  # type: ignore[arg-type]
    assert values["test_user"] == "alice"
    assert values["hostname"] == "nixos-vm"
    assert values["server_address"] == "192.168.1.2"
    assert values["docker_image_ref"] == "vmtest-hello:latest"
    assert values["aarch64_system"] == "aarch64-linux"
    assert values["aarch64_toplevel_drv"].endswith("-nixos-system-aarch64.drv")
    assert values["toplevel"].startswith("/nix/store/")
    assert values["toplevel"].endswith("-nixos-system-server")
    assert values["failed_assertions_json"] == "[]"
    # Putting the placeholders back gives exactly the template scriptlint checked.
    template = script
    for name, value in values.items():
        template = template.replace(json.dumps(value), f'"@{name}@"', 1)
    assert template == compose_suite_script(REPO).text
    args = json.loads((run / "driver-args.json").read_text())
    # The driver's own --junit-xml stays off (see nixos-vm-test.nix: KeyError in its logger).
    assert args["extraDriverArgs"] == []
    assert 0 < args["globalTimeout"] < 900  # within the manifest's timeoutSeconds


def test_an_aarch64_configuration_that_does_not_evaluate_is_caught_not_fatal(
    tmp_path: Path,
) -> None:
    expr = stub_expr(boot_results(tmp_path), aarch64Evaluates="false")
    script = (built_path(expr, "checks.vm-service-test.results") / "test-script").read_text()
    assert '    aarch64_toplevel_drv: str = ""\n' in script


def test_a_too_small_image_fails_the_generation_check(tmp_path: Path) -> None:
    expr = stub_expr(boot_results(tmp_path), imageVirtualSize="1000")
    proc = build(expr, "checks.vm-generation-test")
    assert proc.returncode != 0
    assert "FAILED   virtual size fits the system closure" in proc.stderr
    assert "virtual size 1000 bytes not in (1000000," in proc.stderr


def test_nodes_import_the_real_configuration_plus_test_keys(tmp_path: Path) -> None:
    node = f"import {REPO}/tests/e2e/test-node.nix"
    args = '{ sshPublicKey = "KEY"; extraPaths = [ ]; }'
    call = (
        "role: let stub = " + stub_expr(boot_results(tmp_path)) + "; in "
        f"({node} ({args} // {{ inherit role; }})) "
        "{ lib = stub.lib; }"
    )
    server = eval_json(
        f'let f = {call}; m = f "server"; in {{ imports = map toString m.imports; '
        "keys = m.vmtest.testUser.authorizedKeys; "
        "root = m.users.users.root.openssh.authorizedKeys.keys; }"
    )
    assert server == {
        "imports": [str(REPO / "machines/nixos/vm-shared.nix")],
        "keys": ["KEY"],
        "root": ["KEY"],
    }
    client = eval_json(f'let f = {call}; in builtins.attrNames (f "client")')
    assert client == ["imports", "networking", "system", "virtualisation"]
