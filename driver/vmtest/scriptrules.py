"""The suite's own rules for VM test scripts (tool "vmtest"; syntax errors as "python").

Every step inside `with subtest("<literal>")`, subtest names unique across the suite,
every `wait_*` call with an explicit `timeout=`, no sleep, and no multi-line string
literal (the suite indents scripts, which would change one). Read from the syntax tree
and the tokens; nothing is run.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

# Wait methods of the driver without a timeout parameter.
UNBOUNDED_WAITS = frozenset({"wait_for_shutdown", "wait_for_monitor_prompt"})


@dataclass(frozen=True)
class LintProblem:
    """One problem a tool found, on a line of the script (None: the script as a whole)."""

    tool: str
    script: Path
    line: int | None
    message: str

    def render(self) -> str:
        where = f"{self.script}:{self.line}" if self.line is not None else str(self.script)
        return f"{where}: [{self.tool}] {self.message}"


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
