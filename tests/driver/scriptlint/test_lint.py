"""scriptlint: the real scripts pass; a broken script fails with problems on its own lines."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vmtest.errors import BadInput, EnvironmentNotReady
from vmtest.scriptlint import lint
from vmtest.scriptlint.compose import check_script, with_driver_model
from vmtest.scriptlint.lint import LintProblem, lint_scripts
from vmtest.scriptlint.rules import exemption_problems
from vmtest.scriptlint.tools import composed_files, run_ruff, run_ty

ROOT = Path(__file__).resolve().parents[3]
BROKEN = Path("tests/e2e/fixtures/broken_script.py")


def project_with(tmp_path: Path, replace: str, script_text: str) -> Path:
    """A copy of the project's e2e tree where check `replace` runs `script_text`."""
    shutil.copytree(ROOT / "tests/e2e", tmp_path / "tests/e2e")
    suite_file = tmp_path / "tests/e2e/suite.json"
    suite = json.loads(suite_file.read_text())
    for check in suite["checks"]:
        if check["name"] == replace:
            check["script"] = "scripts/under-test.py"
    suite_file.write_text(json.dumps(suite))
    (tmp_path / "tests/e2e/scripts/under-test.py").write_text(script_text)
    return tmp_path


def problems_at(problems: list[LintProblem], tool: str) -> dict[int | None, list[str]]:
    found: dict[int | None, list[str]] = {}
    for problem in problems:
        if problem.tool == tool:
            found.setdefault(problem.line, []).append(problem.message)
    return found


def test_the_suite_scripts_pass() -> None:
    assert lint_scripts(ROOT) == []


def test_broken_fixture_fails_with_missing_method_and_wrong_arguments(tmp_path: Path) -> None:
    root = project_with(tmp_path, "vm-service-test", (ROOT / BROKEN).read_text())
    problems = lint_scripts(root)
    script = Path("tests/e2e/scripts/under-test.py")
    assert all(p.script == script for p in problems), problems
    # Lines of the fixture itself, not of the composed file the tools saw.
    ty = problems_at(problems, "ty")
    assert ty[9] == [
        "missing-attribute: Object of type `QemuMachine` has no attribute `wait_for_service`"
    ]
    assert any("unknown-argument: Argument `tries`" in m for m in ty[11])
    assert any('Expected `int`, found `Literal["22"]`' in m for m in ty[11])
    assert any('Expected `int | None`, found `Literal["long"]`' in m for m in ty[12])
    assert ty[17] == ["unresolved-reference: Name `undefined_helper` used when not defined"]
    assert problems_at(problems, "ruff") == {17: ["F821: Undefined name `undefined_helper`"]}
    mypy = problems_at(problems, "mypy")
    assert any('has no attribute "wait_for_service"' in m for m in mypy[9])
    assert any('Unexpected keyword argument "tries"' in m for m in mypy[11])
    assert any('"timeout" to "succeed"' in m for m in mypy[12])
    rules = problems_at(problems, "vmtest")
    assert rules[15] == ["wait_until_succeeds() without an explicit timeout="]
    assert rules[16] == ["sleep in a VM test: wait on a state"]
    assert rules[19] == [
        "step outside `with subtest(...)`",
        "succeed() without an explicit timeout=",
    ]


def test_one_wrong_argument_alone_is_caught(tmp_path: Path) -> None:
    text = (
        'with subtest("x"):\n'
        "    server.connect()\n"
        '    server.wait_for_unit("a.service", timeout="60")\n'
    )
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    assert [(p.tool, p.line) for p in problems] == [("vmtest", 3), ("ty", 3), ("mypy", 3)]
    assert 'Expected `int`, found `Literal["60"]`' in problems[1].message
    assert '"timeout" to "wait_for_unit"' in problems[2].message


def test_an_undefined_name_fails_ty_and_ruff_as_in_nixpkgs_build(tmp_path: Path) -> None:
    # nixpkgs 26.05 runs ruff (F821) and ty on the composed file: header and script.
    text = (
        'with subtest("x"):\n    server.connect()\n    undefined_name.succeed("true", timeout=5)\n'
    )
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    assert problems_at(problems, "ruff") == {3: ["F821: Undefined name `undefined_name`"]}
    assert problems_at(problems, "ty") == {
        3: ["unresolved-reference: Name `undefined_name` used when not defined"]
    }


def test_a_file_level_noqa_in_the_test_script_is_rejected(tmp_path: Path) -> None:
    # It would land in the file nixpkgs lints and switch its undefined-name check off.
    text = '# ruff: noqa: F821\nwith subtest("x"):\n    server.connect()\n'
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    assert problems_at(problems, "vmtest") == {
        1: [
            (
                "file-level `ruff: noqa` lands in the testScript nixpkgs lints and switches"
                " its checks off for the whole script: configure our ruff per file (pyproject)"
            )
        ]
    }
    header = tmp_path / "h"
    root = project_with(header, "vm-execution-test", 'with subtest("x"):\n    server.connect()\n')
    path = root / "tests/e2e/script-header.py"
    path.write_text("# flake8: noqa\n" + path.read_text())
    assert [(p.script, p.line) for p in lint_scripts(root)] == [
        (Path("tests/e2e/script-header.py"), 1)
    ]


def test_the_composed_scripts_pass_nixpkgs_ruff_and_ty() -> None:
    """Each check's testScript, as the driver gets it, has no file-level exemption and
    passes `ruff check` (ruff's default rules) and ty behind its nodes' declarations."""
    for check in lint.load_suite(ROOT).boot_checks:
        composed = with_driver_model(ROOT, check.nodes, check_script(ROOT, check))
        script = check_script(ROOT, check)
        assert exemption_problems(Path(script.name), script.text) == [], check.name
        with composed_files(ROOT, [composed]) as workdir:
            assert run_ruff(workdir, [composed.name]) == [], check.name
            assert run_ty(workdir, [composed.name]) == [], check.name


def test_a_timed_wait_before_the_nodes_shell_is_awaited_is_rejected(tmp_path: Path) -> None:
    text = (
        "def units() -> None:\n"
        '    server.wait_for_unit("a.service", timeout=5)\n'
        'with subtest("x"):\n'
        "    server.start()\n"
        '    server.wait_for_console_text("login:", timeout=5)\n'
        "    units()\n"
        "    server.connect()\n"
        "    units()\n"
        '    server.succeed("true", timeout=5)\n'
        "    server.shutdown()\n"
        '    machine.succeed("true", timeout=5)\n'
        "    machine.connect()\n"
        '    server.succeed("true", timeout=5)\n'
    )
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    late = "its timeout would also count the boot (await the node's shell first)"
    assert problems_at(problems, "vmtest") == {
        6: [f"server.wait_for_unit() before server.connect(): {late}"],  # the helper's call
        11: [f"machine.succeed() before machine.connect(): {late}"],  # shut down
        # `machine` is the lone node's other name (driver.nix); its shell counts for both.
    }


def test_method_that_only_older_drivers_had_is_rejected(tmp_path: Path) -> None:
    # Machine.wait_for_job was removed from the driver long before 26.05.
    text = 'with subtest("x"):\n    server.wait_for_job("a.service")\n'
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    assert any('no attribute "wait_for_job"' in p.message for p in problems)


def test_subtest_names_must_be_unique_across_the_suite(tmp_path: Path) -> None:
    text = 'with subtest("server reaches multi-user.target"):\n    server.start()\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert [p.message for p in problems if p.tool == "vmtest"] == [
        (
            "subtest name 'server reaches multi-user.target' also used in "
            "tests/e2e/scripts/under-test.py"
        )
    ]


def test_non_literal_subtest_names_are_rejected(tmp_path: Path) -> None:
    text = 'NAME = "dynamic"\nwith subtest(NAME):\n    server.connect()\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert problems_at(problems, "vmtest") == {2: ["subtest name must be one string literal"]}


def test_a_command_or_wait_without_a_timeout_is_rejected(tmp_path: Path) -> None:
    text = (
        'with subtest("x"):\n'
        "    server.connect()\n"
        '    server.succeed("true")\n'
        '    server.execute("true")\n'
        "    server.wait_for_open_port(22)\n"
        "    retry(lambda _: True)\n"
        '    server.systemctl("start a.service")\n'
        '    server.succeed("true", timeout=5)\n'
        "    retry(lambda _: True, timeout_seconds=5)\n"
        "    retry(lambda _: True, 5)\n"
    )
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert problems_at(problems, "vmtest") == {
        3: ["succeed() without an explicit timeout="],
        4: ["execute() without an explicit timeout="],
        5: ["wait_for_open_port() without an explicit timeout="],
        6: ["retry() without a timeout as its second argument (retry(fn, SECONDS))"],
        7: ["systemctl() takes no timeout: use succeed(..., timeout=) instead"],
        # a keyword timeout is valid for only some drivers' retry (timeout= or timeout_seconds=)
        9: ["retry() without a timeout as its second argument (retry(fn, SECONDS))"],
    }


def test_worst_case_waits_beyond_the_global_timeout_are_rejected(tmp_path: Path) -> None:
    # platform-validation-test's globalTimeout is 480 s (suite.json). Boot allowance 120 s,
    # wait_until_succeeds counts twice (2 x 100), a polling wait 100 + 10, the helper's
    # command once per call (2 x 30): 490 s.
    text = (
        "STEP = 100\n"
        "def helper() -> str:\n"
        '    return server.succeed("true", timeout=30)\n'
        'with subtest("x"):\n'
        "    server.connect()\n"
        '    server.wait_until_succeeds("true", timeout=STEP)\n'
        '    server.wait_for_unit("a.service", timeout=STEP)\n'
        "    helper()\n"
        "    helper()\n"
    )
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert [p.render() for p in problems] == [
        (
            "tests/e2e/scripts/under-test.py: [vmtest] worst case 490 s (boot allowance 120 s"
            " + waits 370 s) exceeds the check's globalTimeout 480 s (suite.json timeoutSeconds)"
        )
    ]
    within = text.replace("STEP = 100", "STEP = 50")  # 120 + 100 + 60 + 60 = 340 s
    assert lint_scripts(project_with(tmp_path / "ok", "platform-validation-test", within)) == []


def test_a_timeout_that_cannot_be_counted_is_rejected(tmp_path: Path) -> None:
    text = (
        'with subtest("x"):\n'
        "    server.connect()\n"
        "    for _ in range(3):\n"
        '        server.succeed("true", timeout=5 * 2)\n'
    )
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert problems_at(problems, "vmtest") == {
        4: [
            "succeed(): timeout= must be a number or a module-level constant",
            "succeed() in a loop: its time cannot be bounded",
        ]
    }


def test_a_name_clash_with_the_header_is_caught_in_the_test_script(tmp_path: Path) -> None:
    # script-header.py defines Expected as Facts; the script is checked after it.
    text = 'Expected = "x"\nwith subtest("x"):\n    server.start()\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert [(p.tool, p.line) for p in problems] == [("mypy", 1)]
    assert "Incompatible types in assignment" in problems[0].message


def test_a_node_the_check_does_not_have_is_undefined(tmp_path: Path) -> None:
    # Only vm-service-test has the client node (suite.json "nodes").
    text = 'with subtest("x"):\n    client.connect()\n    client.succeed("true", timeout=5)\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert {(p.tool, p.line) for p in problems} >= {("ty", 2), ("ruff", 2), ("mypy", 2)}


def test_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    text = 'with subtest("x"):\n    server.start(\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert any(p.tool == "python" and p.line is not None for p in problems)


def test_missing_tools_mean_environment_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_ty(name: str, package: str | None = None) -> object:
        return None if name == "ty" else real(name, package)

    monkeypatch.setattr("importlib.util.find_spec", without_ty)
    with pytest.raises(EnvironmentNotReady, match="ty is not installed"):
        lint_scripts(ROOT)


def test_main_prints_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "vm-service-test", (ROOT / BROKEN).read_text())
    assert lint.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "tests/e2e/scripts/under-test.py:9: [ty] " in out
    assert lint.main([str(ROOT)]) == 0


def test_a_missing_script_is_bad_input_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "vm-execution-test", "")
    (root / "tests/e2e/scripts/under-test.py").unlink()
    with pytest.raises(BadInput, match="cannot read a VM test script"):
        lint_scripts(root)
    assert lint.main([str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read a VM test script")
    # The file and the system's reason in words (vmtest.text.os_reason), no [Errno N].
    assert "under-test.py: no such file or directory" in err
    assert "Errno" not in err


def test_the_lint_scripts_command_lists_problems_and_exits_1(tmp_path: Path) -> None:
    """`vmtest lint-scripts` (what `make test` runs) prints what `main` prints."""
    root = project_with(tmp_path, "vm-service-test", (ROOT / BROKEN).read_text())
    argv = [sys.executable, "-m", "vmtest", "lint-scripts", "--project", str(root)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tests/e2e/scripts/under-test.py:9: [ty] " in done.stdout
    assert done.stderr.startswith("lint-scripts: ") and "problem(s)" in done.stderr
    ok = subprocess.run(
        [*argv[:-1], str(ROOT)], capture_output=True, text=True, check=False, timeout=120
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("each within its check's globalTimeout")
