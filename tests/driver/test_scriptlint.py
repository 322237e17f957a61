"""scriptlint: the real scripts pass; a broken script fails with problems on its own lines."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vmtest import scriptlint
from vmtest.errors import BadInput, EnvironmentNotReady
from vmtest.scriptlint import LintProblem, lint_scripts

ROOT = Path(__file__).resolve().parents[2]
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
    root = project_with(tmp_path, "platform-validation-test", (ROOT / BROKEN).read_text())
    problems = lint_scripts(root)
    script = Path("tests/e2e/scripts/under-test.py")
    assert all(p.script == script for p in problems), problems
    mypy = problems_at(problems, "mypy")
    # Lines of the fixture itself, not of the composed file mypy saw.
    assert any('has no attribute "wait_for_service"' in m for m in mypy[7])
    assert any('Unexpected keyword argument "tries"' in m for m in mypy[9])
    assert any('incompatible type "str"; expected "int"' in m for m in mypy[9])
    assert any('"timeout" to "succeed"' in m for m in mypy[10])
    assert any("undefined_helper" in m for m in problems_at(problems, "pyflakes")[15])
    rules = problems_at(problems, "vmtest")
    assert rules[13] == ["wait_until_succeeds() without an explicit timeout="]
    assert rules[14] == ["sleep in a VM test: wait on a state"]
    assert rules[17] == ["step outside `with subtest(...)`"]


def test_one_wrong_argument_alone_is_caught(tmp_path: Path) -> None:
    text = 'with subtest("x"):\n    server.wait_for_unit("a.service", timeout="60")\n'
    problems = lint_scripts(project_with(tmp_path, "vm-execution-test", text))
    assert [(p.tool, p.line) for p in problems] == [("mypy", 2)]
    assert '"timeout" to "wait_for_unit"' in problems[0].message


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


def test_multiline_strings_and_non_literal_names_are_rejected(tmp_path: Path) -> None:
    text = 'NAME = \'dynamic\'\nwith subtest(NAME):\n    server.succeed("""true\n    """)\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    rules = problems_at(problems, "vmtest")
    assert rules[2] == ["subtest name must be one string literal"]
    assert rules[3] == ["multi-line string literal (the suite indents scripts)"]


def test_name_clash_between_scripts_is_caught_in_the_composed_script(tmp_path: Path) -> None:
    # Both scripts define BOOT_TIMEOUT as int; a str here clashes only once composed.
    text = 'BOOT_TIMEOUT = "300"\nwith subtest("x"):\n    server.start()\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert [(p.tool, p.line) for p in problems] == [("mypy", 1)]
    assert "Incompatible types in assignment" in problems[0].message


def test_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    text = 'with subtest("x"):\n    server.start(\n'
    problems = lint_scripts(project_with(tmp_path, "platform-validation-test", text))
    assert any(p.tool == "python" and p.line is not None for p in problems)


def test_missing_tools_mean_environment_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_mypy(name: str, package: str | None = None) -> object:
        return None if name == "mypy" else real(name, package)

    monkeypatch.setattr("importlib.util.find_spec", without_mypy)
    with pytest.raises(EnvironmentNotReady, match="mypy is not installed"):
        lint_scripts(ROOT)


def test_main_prints_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "platform-validation-test", (ROOT / BROKEN).read_text())
    assert scriptlint.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "tests/e2e/scripts/under-test.py:7: [mypy] " in out
    assert scriptlint.main([str(ROOT)]) == 0


def test_a_missing_script_is_bad_input_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "vm-execution-test", "")
    (root / "tests/e2e/scripts/under-test.py").unlink()
    with pytest.raises(BadInput, match="cannot read a VM test script"):
        lint_scripts(root)
    assert scriptlint.main([str(root)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read a VM test script")


def test_the_lint_scripts_command_lists_problems_and_exits_1(tmp_path: Path) -> None:
    """`vmtest lint-scripts` (what `make test` runs) prints what `main` prints."""
    root = project_with(tmp_path, "platform-validation-test", (ROOT / BROKEN).read_text())
    argv = [sys.executable, "-m", "vmtest", "lint-scripts", "--project", str(root)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tests/e2e/scripts/under-test.py:7: [mypy] " in done.stdout
    assert done.stderr.startswith("lint-scripts: ") and "problem(s)" in done.stderr
    ok = subprocess.run(
        [*argv[:-1], str(ROOT)], capture_output=True, text=True, check=False, timeout=120
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("pass mypy and pyflakes")
