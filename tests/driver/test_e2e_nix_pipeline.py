"""tests/e2e/nixos-vm-test.nix evaluated and built with the real nix against a stand-in nixpkgs.

fixtures/e2e/stub.nix replaces nixpkgs and the flake with `/bin/sh` derivations, so the
probes, the four booted checks and vm-test-suite really build here. Its runNixOSTest
runs each check's real testScript in a stand-in driver whose guests answer from a table
and keeps the real semantics: the script's exception ends the build non-zero. No VM
boots: nothing here shows how a real VM behaves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from nixeval import REPO, VM_CHECKS, eval_json, run
from vmtest.scriptlint.compose import check_script, load_suite

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


def stub_expr(stub: Path = STUB, **args: str) -> str:
    extra = " ".join(f"{k} = {v};" for k, v in args.items())
    return f"import {stub} {{ {extra} }}"


def build(expr: str, attr: str) -> subprocess.CompletedProcess[str]:
    return run(["nix-build", "--no-out-link", "-E", expr, "-A", attr], timeout=None)


def built_path(expr: str, attr: str) -> Path:
    proc = build(expr, attr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(proc.stdout.strip().splitlines()[-1])


def drv_paths(expr: str) -> dict[str, str]:
    names = [*VM_CHECKS, "vm-test-suite"]
    attrs = " ".join(f'"{n}" = checks."{n}".drvPath;' for n in names)
    result = eval_json(f"let checks = ({expr}).checks; in {{ {attrs} }}")
    assert isinstance(result, dict)
    return result


BOOTED = [c.name for c in load_suite(REPO).boot_checks]


def test_the_file_defines_exactly_the_seven_checks() -> None:
    names = eval_json(f"builtins.attrNames ({stub_expr()}).checks")
    assert sorted(names) == sorted([*VM_CHECKS, "vm-test-suite"])


def test_each_booted_check_is_its_own_nixos_test_with_its_own_nodes_and_timeout() -> None:
    drvs = drv_paths(stub_expr())
    assert len(set(drvs.values())) == 7
    for check in load_suite(REPO).boot_checks:
        assert drvs[check.name].endswith(f"-vm-test-run-{check.name}.drv")
        for attr in ["driver", "driverInteractive"]:
            out = built_path(stub_expr(), f"checks.{check.name}.{attr}")
            settings = json.loads((out / "settings.json").read_text())
            assert settings == {
                "globalTimeout": check.timeout,  # suite.json timeoutSeconds
                "forceAccel": True,
                "nodes": list(check.nodes),
                "extraDriverArgs": [],  # no --junit-xml (KeyError in one driver's logger)
                "interactive": attr == "driverInteractive",
            }
            script = (out / "test-script").read_text()
            facts = script.splitlines()[1].split(", ")[-1].strip('"')
            assert script == check_script(REPO, check, facts).text
        assert json.loads(Path(facts).read_text())["test_user"] == "alice"


def test_all_passing_checks_build_and_the_suite_reports_every_subtest() -> None:
    expr = stub_expr()
    for name in VM_CHECKS:
        results = json.loads(
            (built_path(expr, f"checks.{name}") / "vmtest-results.json").read_text()
        )
        (case,) = results["cases"]
        assert case["name"] == name
        assert {s["status"] for s in case["subtests"]} == {"passed"}, name
    out = built_path(expr, "checks.vm-test-suite")
    assert out.is_file()
    assert out.read_text().startswith("vm-test-suite: PASSED (6 of 6 checks passed)\n")
    report = built_path(expr, "checks.vm-test-suite.report")
    assert sorted(p.name for p in report.iterdir()) == ["junit.xml", "report.json"]
    data = json.loads((report / "report.json").read_text())
    assert [c["name"] for c in data["checks"]] == VM_CHECKS
    assert data["summary"] == {"checks": 6, "passed": 6, "failed": 0}


def test_a_failed_subtest_fails_its_check_and_the_suite_but_not_the_others() -> None:
    missing = "id: alice: no such user"
    expr = stub_expr(answers=f'[ [ "^id -nG alice$" 1 "{missing}\\n" ] ]')
    proc = build(expr, "checks.vm-service-test")
    assert proc.returncode != 0
    tail = proc.stderr.splitlines()
    verdict = (
        'vmtest: vm-service-test: FAILED subtest "test user is in the wheel and docker groups":'
    )
    assert verdict in tail
    after = tail[tail.index(verdict) + 1 :]
    assert after[:3] == [
        "vmtest:   RequestedAssertionFailed: command `id -nG alice` failed (exit code 1)",
        "vmtest:   last output lines:",
        f"vmtest:   {missing}",
    ]
    for name in ["vm-execution-test", "platform-validation-test", "vm-build-test"]:
        assert build(expr, f"checks.{name}").returncode == 0, name
    suite = build(expr, "checks.vm-test-suite")
    assert suite.returncode != 0
    assert "-vm-test-run-vm-service-test.drv' failed" in suite.stderr  # Nix names the check


def test_os_release_is_compared_with_the_node_the_framework_built() -> None:
    # The stub's nodes carry the version the test framework forces (nixos-test-base.nix:
    # versionSuffix "test"), not nixosConfigurations.vm's `26.05.20260814.02e0898`.
    facts = eval_json(
        f"let s = {stub_expr()}; in {{ node = s.checks.vm-config-integrity-test.nodes.server"
        ".system.nixos.version; vm = s.self.nixosConfigurations.vm.config.system.nixos.version; }"
    )
    assert facts == {"node": "26.05test", "vm": "26.05.20260814.02e0898"}
    out = built_path(stub_expr(), "checks.vm-config-integrity-test")
    results = json.loads((out / "vmtest-results.json").read_text())
    statuses = {s["name"]: s["status"] for s in results["cases"][0]["subtests"]}
    assert set(statuses.values()) == {"passed"}
    assert "os-release carries the test node's own build" in statuses


def test_a_node_of_another_release_than_the_configuration_fails_the_release_subtest() -> None:
    proc = build(stub_expr(nodeRelease='"25.11"'), "checks.vm-config-integrity-test")
    assert proc.returncode != 0
    assert (
        "vmtest: vm-config-integrity-test: FAILED subtest"
        ' "os-release names nixosConfigurations.vm\'s release":'
    ) in proc.stderr
    assert "'25.11' != '26.05'" in proc.stderr


def test_editing_one_script_changes_only_its_check_and_the_suite(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(REPO / "tests/e2e", tree / "tests/e2e")
    shutil.copytree(REPO / "tests/driver/fixtures/e2e", tree / "tests/driver/fixtures/e2e")
    stub = tree / "tests/driver/fixtures/e2e/stub.nix"
    before = drv_paths(stub_expr(stub))
    script = tree / "tests/e2e/scripts/vm-execution-test.py"
    script.write_text(script.read_text() + "# edited\n")
    after = drv_paths(stub_expr(stub))
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["vm-execution-test", "vm-test-suite"]


def test_an_aarch64_configuration_that_does_not_evaluate_fails_only_platform_validation() -> None:
    expr = stub_expr(aarch64Evaluates="false")
    attr = f"({expr}).checks.platform-validation-test.drvPath"
    proc = run(["nix-instantiate", "--eval", "-E", attr], timeout=None)
    assert proc.returncode != 0
    assert "stand-in: the aarch64 configuration does not evaluate" in proc.stderr
    for name in ["vm-service-test", "vm-execution-test", "vm-config-integrity-test"]:
        assert eval_json(f"({expr}).checks.{name}.drvPath").endswith(".drv"), name


def test_a_vm_that_never_boots_fails_at_the_global_timeout_saying_so() -> None:
    proc = build(stub_expr(noBoot='[ "server" ]', globalTimeout="2"), "checks.vm-execution-test")
    assert proc.returncode != 0
    assert (
        "vmtest:   the global timeout (2 s) was reached: the VM did not boot (server: no root shell)"
        in proc.stderr
    )


def test_a_too_small_image_fails_the_generation_check() -> None:
    proc = build(stub_expr(imageVirtualSize="1000"), "checks.vm-generation-test")
    assert proc.returncode != 0
    assert 'vmtest: vm-generation-test: FAILED subtest "virtual size fits the system closure":' in (
        proc.stderr
    )
    assert "virtual size 1000 bytes not in (1000000," in proc.stderr


def test_nodes_import_the_real_configuration_plus_test_keys() -> None:
    node = f"import {REPO}/tests/e2e/test-node.nix"
    args = '{ sshPublicKey = "KEY"; extraPaths = [ ]; }'
    call = (
        "role: let stub = " + stub_expr() + "; in "
        f"({node} ({args} // {{ inherit role; }})) "
        "{ lib = stub.lib; }"
    )
    server = eval_json(
        f'let f = {call}; m = f "server"; in {{ imports = map toString m.imports; '
        "keys = m.vmtest.testUser.authorizedKeys; "
        "root = m.users.users.root.openssh.authorizedKeys.keys; "
        "sshd = m.services.openssh.settings; }"
    )
    assert server == {
        "imports": [str(REPO / "machines/nixos/vm-shared.nix")],
        "keys": ["KEY"],
        "root": ["KEY"],
        # The refusal subtests must not lock the client out (OpenSSH >= 9.8).
        "sshd": {"PerSourcePenalties": "no"},
    }
    client = eval_json(f'let f = {call}; in builtins.attrNames (f "client")')
    assert client == ["imports", "networking", "system", "virtualisation"]
