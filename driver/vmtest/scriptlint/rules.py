"""The suite's own rules for VM test scripts (tool "vmtest"; syntax errors as "python").

Every step inside `with subtest("<literal>")`, subtest names unique across the suite,
an explicit timeout on every wait and every `succeed`/`fail`/`execute` (`retry`: its
second argument), none of the driver's calls that take no timeout, no sleep, each
node's root shell awaited before a timed call on it (`vmtest.scriptlint.shell`), no
file-level `noqa` in the header or a script (it would land in the testScript nixpkgs
lints), and a worst case within the check's globalTimeout (`vmtest.scriptlint.budget`).
Read from the syntax tree and the text; nothing is run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from vmtest.scriptlint.budget import budget_problems
from vmtest.scriptlint.compose import HEADER_FILE, BootCheck
from vmtest.scriptlint.shell import shell_problems

# Driver calls that run a guest command or wait, with no timeout parameter
# (machine/__init__.py @ 019697db058b); `shutdown()` is allowed and budgeted.
UNBOUNDED = frozenset(
    {
        "systemctl",
        "get_unit_info",
        "get_unit_property",
        "require_unit_state",
        "start_job",
        "stop_job",
        "wait_for_shutdown",
        "wait_for_monitor_prompt",
        "copy_from_host",
        "copy_from_machine",
        "copy_from_vm",
    }
)
COMMANDS = frozenset({"succeed", "fail", "execute"})
# A comment that exempts a whole file (ruff honours both spellings).
FILE_EXEMPTION = re.compile(r"^\s*#\s*(?P<tool>ruff|flake8)\s*:\s*noqa\b", re.IGNORECASE)


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
        if isinstance(node, ast.Call):
            problems += _call_problems(script, node)
    return problems


def _call_problems(script: Path, node: ast.Call) -> list[LintProblem]:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    keywords = {kw.arg for kw in node.keywords}
    message = None
    if name == "sleep":
        message = "sleep in a VM test: wait on a state"
    elif name in UNBOUNDED:
        message = f"{name}() takes no timeout: use succeed(..., timeout=) instead"
    elif name == "retry" and len(node.args) < 2:
        # The keyword is `timeout` in older drivers' RetryProtocol (nixpkgs
        # nixos/lib/test-script-prepend.py @ cd4a975d50b6) and `timeout_seconds` in newer
        # ones (machine/__init__.py @ 019697db058b): only the position is valid in both.
        message = "retry() without a timeout as its second argument (retry(fn, SECONDS))"
    elif (name in COMMANDS or name.startswith("wait_")) and "timeout" not in keywords:
        message = f"{name}() without an explicit timeout="
    return [LintProblem("vmtest", script, node.lineno, message)] if message else []


def exemption_problems(source: Path, text: str) -> list[LintProblem]:
    """File-level `noqa` comments: in a testScript they switch nixpkgs' lint off."""
    return [
        LintProblem(
            "vmtest",
            source,
            number,
            f"file-level `{match['tool'].lower()}: noqa` lands in the testScript nixpkgs"
            " lints and switches its checks off for the whole script: configure our ruff"
            " per file (pyproject)",
        )
        for number, line in enumerate(text.splitlines(), start=1)
        if (match := FILE_EXEMPTION.match(line))
    ]


def check_rules(project_root: Path, checks: list[BootCheck]) -> list[LintProblem]:
    """The suite's own rules for scripts (tool "vmtest"; syntax errors as tool "python")."""
    problems = exemption_problems(HEADER_FILE, (project_root / HEADER_FILE).read_text())
    seen: dict[str, Path] = {}
    for check in checks:
        script = check.script
        text = (project_root / script).read_text()
        problems += exemption_problems(script, text)
        try:
            tree = ast.parse(text, filename=str(script))
        except SyntaxError as exc:
            problems.append(LintProblem("python", script, exc.lineno, exc.msg))
            continue
        problems += _rule_problems(script, tree)
        for line, message in budget_problems(tree, check.timeout):
            problems.append(LintProblem("vmtest", script, line, message))
        for line, message in shell_problems(tree, check.nodes):
            problems.append(LintProblem("vmtest", script, line, message))
        for name in subtest_names(text):
            if name in seen:
                problems.append(
                    LintProblem(
                        "vmtest", script, None, f"subtest name {name!r} also used in {seen[name]}"
                    )
                )
            seen[name] = script
    return problems
