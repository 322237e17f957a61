"""Offline type check and lint of the VM test scripts, the way nixpkgs does it in the build.

nixpkgs (nixos/lib/testing/driver.nix) prepends nixos/lib/test-script-prepend.py and one
`<node>: QemuMachine;` line per node to the test script, runs `mypy --no-implicit-optional`
on that, and runs pyflakes on the script with PYFLAKES_BUILTINS = node names + driver
symbols. Here the driver is not installed, so tests/e2e/driver-model/prelude.py stands in
for the prepend. Checked, in one mypy run:

- each booted check's script (tests/e2e/scripts/*.py) alone, after the model, the node
  declarations and the suite runner (tests/e2e/runner/prelude.py);
- the composed suite script exactly as tests/e2e/suite.nix builds it for the driver.

Also checked (tool "vmtest"): every step inside `with subtest("<literal>")`, subtest names
unique across the suite, every `wait_*` call with an explicit `timeout=`, no sleep, no
multi-line string literal (the suite indents scripts, which would change one).
Line numbers are mapped back to each script's own lines.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vmtest.errors import BadInput, EnvironmentNotReady

E2E_DIR = Path("tests/e2e")
SUITE_FILE = E2E_DIR / "suite.json"
MODEL_FILE = E2E_DIR / "driver-model/prelude.py"
RUNNER_FILE = E2E_DIR / "runner/prelude.py"

# Driver.test_symbols() keys (nixos/lib/test-driver/src/test_driver/driver.py @ 003d58163f46),
# the list nixpkgs gives pyflakes through `generate-driver-symbols`.
DRIVER_SYMBOLS = [
    "start_all",
    "test_script",
    "machines_qemu",
    "machines_nspawn",
    "vlans",
    "driver",
    "log",
    "os",
    "create_machine",
    "subtest",
    "run_tests",
    "join_all",
    "retry",
    "serial_stdout_off",
    "serial_stdout_on",
    "polling_condition",
    "BaseMachine",
    "t",
    "debug",
]
# Names the suite runner defines for the scripts.
RUNNER_SYMBOLS = ("Expected",)
# Wait methods of the driver without a timeout parameter.
UNBOUNDED_WAITS = frozenset({"wait_for_shutdown", "wait_for_monitor_prompt"})
INDENT = "    "
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?:\d+:)? (?P<kind>error|note): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class LintProblem:
    tool: str
    script: Path
    line: int | None
    message: str

    def render(self) -> str:
        where = f"{self.script}:{self.line}" if self.line is not None else str(self.script)
        return f"{where}: [{self.tool}] {self.message}"


@dataclass(frozen=True)
class Segment:
    """Lines `first`..`first + count - 1` of a checked file are lines 1.. of `source`."""

    source: Path
    first: int
    count: int


@dataclass(frozen=True)
class CheckedFile:
    name: str
    text: str
    segments: tuple[Segment, ...]

    def locate(self, line: int) -> tuple[Path, int] | None:
        for seg in self.segments:
            if seg.first <= line < seg.first + seg.count:
                return seg.source, line - seg.first + 1
        return None


@dataclass(frozen=True)
class Suite:
    nodes: tuple[str, ...]
    boot_scripts: tuple[tuple[str, Path], ...]  # (check name, script path) in run order


def load_suite(project_root: Path) -> Suite:
    path = project_root / SUITE_FILE
    try:
        data = json.loads(path.read_text())
        nodes = tuple(str(n) for n in data["nodes"])
        boot = tuple(
            (str(c["name"]), E2E_DIR / str(c["script"]))
            for c in data["checks"]
            if c["kind"] == "boot"
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"cannot read the suite description {path}: {exc}") from exc
    return Suite(nodes=nodes, boot_scripts=boot)


def indent_script(text: str) -> str:
    """Indent every non-empty line by four spaces (the same rule as tests/e2e/suite.nix)."""
    return "\n".join(INDENT + line if line else "" for line in text.split("\n"))


def case_header(name: str) -> str:
    return f'with vmtest_case("{name}"):\n'


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[Segment] = []
        self.next_line = 1

    def add(self, text: str, source: Path | None = None) -> None:
        if not text.endswith("\n"):
            text += "\n"
        count = _line_count(text)
        if source is not None:
            self.segments.append(Segment(source, self.next_line, count))
        self.parts.append(text)
        self.next_line += count

    @staticmethod
    def single(project_root: Path, script: Path) -> CheckedFile:
        builder = _Builder()
        builder.add((project_root / script).read_text(), script)
        return builder.build(script.name)

    def extend(self, checked: CheckedFile) -> None:
        offset = self.next_line - 1
        self.parts.append(checked.text)
        self.segments.extend(Segment(s.source, s.first + offset, s.count) for s in checked.segments)
        self.next_line += _line_count(checked.text)

    def build(self, name: str) -> CheckedFile:
        return CheckedFile(name, "".join(self.parts), tuple(self.segments))


def compose_suite_script(project_root: Path) -> CheckedFile:
    """The suite's test script template (before facts are filled in), as suite.nix builds it."""
    suite = load_suite(project_root)
    builder = _Builder()
    builder.add((project_root / RUNNER_FILE).read_text(), RUNNER_FILE)
    for name, script in suite.boot_scripts:
        builder.add(case_header(name))
        builder.add(indent_script((project_root / script).read_text()), script)
    return builder.build("vmtest_suite_script.py")


def _node_declarations(nodes: Iterable[str]) -> str:
    return "".join(f"{node}: QemuMachine\n" for node in nodes)


def _typed(project_root: Path, suite: Suite, body: CheckedFile) -> CheckedFile:
    """The driver model and the node declarations, then `body` (as driver.nix does)."""
    builder = _Builder()
    builder.add((project_root / MODEL_FILE).read_text(), MODEL_FILE)
    builder.add(_node_declarations(suite.nodes))
    builder.extend(body)
    return builder.build(body.name)


def _runner_and_script(project_root: Path, script: Path) -> CheckedFile:
    builder = _Builder()
    builder.add((project_root / RUNNER_FILE).read_text(), RUNNER_FILE)
    builder.add((project_root / script).read_text(), script)
    return builder.build(script.stem.replace("-", "_") + ".py")


def _require_tools() -> None:
    for module in ("mypy", "pyflakes"):
        if importlib.util.find_spec(module) is None:
            raise EnvironmentNotReady(
                f"{module} is not installed for {sys.executable}",
                hint="run `make venv` (the dev extras include mypy and pyflakes)",
            )


def _run_mypy(files: list[CheckedFile]) -> list[LintProblem]:
    with tempfile.TemporaryDirectory(prefix="vmtest-scriptlint-") as tmp:
        workdir = Path(tmp)
        (workdir / "mypy.ini").write_text("[mypy]\n")
        for checked in files:
            (workdir / checked.name).write_text(checked.text)
        argv = [
            sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
            "--no-implicit-optional", "--no-color-output", "--no-error-summary",
            "--hide-error-context", "--show-error-codes", "--cache-dir", "cache",
            *(checked.name for checked in files),
        ]  # fmt: skip
        proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False)
    # Exit 2 also means a blocking error in a checked file (e.g. a syntax error), which
    # mypy reports like any other; only output without any error line is a broken tool.
    reported = any(_MYPY_LINE.match(line) for line in proc.stdout.splitlines())
    if proc.returncode not in (0, 1) and not reported:
        detail = (proc.stderr or proc.stdout).strip()
        raise EnvironmentNotReady(f"mypy failed to run (exit {proc.returncode}): {detail}")
    by_name = {checked.name: checked for checked in files}
    problems = []
    for raw in proc.stdout.splitlines():
        match = _MYPY_LINE.match(raw)
        if match is None or match["kind"] != "error":
            continue
        target = by_name.get(match["file"])
        located = target.locate(int(match["line"])) if target else None
        if located is None:
            problems.append(
                LintProblem("mypy", Path(match["file"]), int(match["line"]), match["msg"])
            )
        else:
            problems.append(LintProblem("mypy", located[0], located[1], match["msg"]))
    return problems


def _run_pyflakes(checked: CheckedFile, builtins: set[str]) -> list[LintProblem]:
    from pyflakes.checker import Checker  # type: ignore[import-untyped]

    try:
        tree = ast.parse(checked.text, filename=checked.name)
    except SyntaxError:
        return []  # reported by the structural check and by mypy
    problems = []
    for message in Checker(tree, filename=checked.name, builtins=builtins).messages:
        text = str(message.message % message.message_args)
        located = checked.locate(int(message.lineno))
        source, line = located if located else (Path(checked.name), int(message.lineno))
        problems.append(LintProblem("pyflakes", source, line, text))
    return problems


def lint_scripts(project_root: Path) -> list[LintProblem]:
    """Type-check and lint every booted check's script; an empty list means all good."""
    _require_tools()
    suite = load_suite(project_root)
    scripts = [script for _, script in suite.boot_scripts]
    try:
        problems = check_rules(project_root, scripts)
        composed = compose_suite_script(project_root)
        typed = [_typed(project_root, suite, _runner_and_script(project_root, s)) for s in scripts]
        alone = [_Builder.single(project_root, s) for s in scripts]
    except OSError as exc:
        raise BadInput(f"cannot read a VM test script or the driver model: {exc}") from exc
    problems += _run_mypy([*typed, _typed(project_root, suite, composed)])
    builtins = set(DRIVER_SYMBOLS) | set(suite.nodes)
    for checked in alone:
        problems += _run_pyflakes(checked, builtins | set(RUNNER_SYMBOLS))
    problems += _run_pyflakes(composed, builtins)
    return _unique(problems)


def _unique(problems: list[LintProblem]) -> list[LintProblem]:
    seen: set[LintProblem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result


def subtest_calls(tree: ast.AST) -> list[ast.Call]:
    """Every `subtest(...)` call in a script."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "subtest"
    ]


def subtest_names(text: str) -> list[str]:
    """The literal subtest names of a script, in order (as the manifest lists them)."""
    names = []
    for call in subtest_calls(ast.parse(text)):
        if len(call.args) == 1 and isinstance(call.args[0], ast.Constant):
            names.append(str(call.args[0].value))
    return names


def _is_step(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.Assign | ast.AnnAssign):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # a docstring or a bare literal
    if isinstance(stmt, ast.With) and len(stmt.items) == 1:
        call = stmt.items[0].context_expr
        return call in subtest_calls(call)
    return False


def _rule_problems(script: Path, tree: ast.AST) -> list[LintProblem]:
    problems = []
    assert isinstance(tree, ast.Module)
    for stmt in tree.body:
        if not _is_step(stmt):
            problems.append(
                LintProblem("vmtest", script, stmt.lineno, "step outside `with subtest(...)`")
            )
    for call in subtest_calls(tree):
        arg = call.args[0] if len(call.args) == 1 and not call.keywords else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value):
            problems.append(
                LintProblem(
                    "vmtest", script, call.lineno, "subtest name must be one string literal"
                )
            )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "sleep":
            problems.append(
                LintProblem("vmtest", script, node.lineno, "sleep in a VM test: wait on a state")
            )
        keywords = {kw.arg for kw in node.keywords}
        if name.startswith("wait_") and name not in UNBOUNDED_WAITS and "timeout" not in keywords:
            problems.append(
                LintProblem("vmtest", script, node.lineno, f"{name}() without an explicit timeout=")
            )
    return problems


def check_rules(project_root: Path, scripts: list[Path]) -> list[LintProblem]:
    """The suite's own rules for scripts (tool "vmtest"; syntax errors as tool "python")."""
    problems: list[LintProblem] = []
    seen: dict[str, Path] = {}
    for script in scripts:
        text = (project_root / script).read_text()
        try:
            tree = ast.parse(text, filename=str(script))
        except SyntaxError as exc:
            problems.append(LintProblem("python", script, exc.lineno, exc.msg))
            continue
        for line in multiline_strings(text):
            problems.append(
                LintProblem(
                    "vmtest", script, line, "multi-line string literal (the suite indents scripts)"
                )
            )
        problems += _rule_problems(script, tree)
        for name in subtest_names(text):
            if name in seen:
                problems.append(
                    LintProblem(
                        "vmtest", script, None, f"subtest name {name!r} also used in {seen[name]}"
                    )
                )
            seen[name] = script
    return problems


def multiline_strings(text: str) -> list[int]:
    """Start lines of string literals that span several lines."""
    lines = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING and tok.start[0] != tok.end[0]:
            lines.append(tok.start[0])
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    try:
        problems = lint_scripts(root)
    except (EnvironmentNotReady, BadInput) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    for problem in problems:
        print(problem.render())
    if problems:
        print(f"lint-scripts: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    count = len(load_suite(root).boot_scripts)
    print(f"lint-scripts: {count} scripts and the composed suite script pass mypy and pyflakes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
