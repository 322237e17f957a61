"""A booted check's worst-case time, from its script's waits, against its globalTimeout.

Counted the way nixpkgs' driver spends the time (machine/__init__.py @ 019697db058b):

- `succeed`/`fail`/`execute(timeout=T)`: T (`timeout T bash -c ...` in the guest);
- `wait_until_succeeds`/`wait_until_fails(timeout=T)`: 2T: `retry` polls for T, then
  makes one last attempt, and every attempt's command may itself run for T;
- the other waits (`wait_for_unit`, `wait_for_open_port`, ..., `retry(fn, T)`):
  T plus PROBE_ALLOWANCE for the last probe, whose command (systemctl, nc) has no
  timeout of its own;
- `shutdown()`: SHUTDOWN_ALLOWANCE (the driver waits for QEMU to exit without a limit);
- the boot: BOOT_ALLOWANCE once, however many nodes start (they boot in parallel). No
  script can bound it: `connect()` waits for the guest's root shell without a limit,
  so a VM that never boots is stopped by globalTimeout alone (script-header.py then
  says "the VM did not boot"). Scripts await each node's shell before their timed
  waits (`vmtest.scriptlint.shell`), so the waits' timeouts never include the boot.

A helper function's cost is counted at every call. Calls in loops cannot be bounded
and are reported. Timeouts must be int literals or module-level int constants.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

#: Seconds from `start()` to the guest's root shell on a KVM runner (an estimate, not a bound).
BOOT_ALLOWANCE = 120
#: Seconds for the last probe of a polling wait.
PROBE_ALLOWANCE = 10
#: Seconds for a power-off after `shutdown()`.
SHUTDOWN_ALLOWANCE = 60

COMMANDS = frozenset({"succeed", "fail", "execute"})
DOUBLE_WAITS = frozenset({"wait_until_succeeds", "wait_until_fails"})
START = frozenset({"start", "start_all", "connect"})


@dataclass
class Budget:
    """Worst-case seconds of a script, and the calls that could not be counted."""

    seconds: int = 0
    boots: bool = False
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.seconds + (BOOT_ALLOWANCE if self.boots else 0)


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


class _Counter(ast.NodeVisitor):
    def __init__(self, tree: ast.Module) -> None:
        self.constants = {
            t.id: s.value.value
            for s in tree.body
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
            for t in s.targets
            if isinstance(t, ast.Name) and type(s.value.value) is int
        }
        self.functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
        self.budget = Budget()
        self.loop_depth = 0
        self.calling: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return  # counted where it is called

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)  # evaluated once
        self._loop([*node.body, *node.orelse])

    def visit_While(self, node: ast.While) -> None:
        self._loop([node.test, *node.body, *node.orelse])

    def _loop(self, nodes: list[ast.AST]) -> None:
        self.loop_depth += 1
        for child in nodes:
            self.visit(child)
        self.loop_depth -= 1

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = _call_name(node)
        if name in START:
            self.budget.boots = True
            return
        if name in self.functions and name not in self.calling:
            self.calling.append(name)
            for stmt in self.functions[name].body:
                self.visit(stmt)
            self.calling.pop()
            return
        cost = self._cost(node, name)
        if cost is None:
            return
        if self.loop_depth:
            self.budget.problems.append(
                (node.lineno, f"{name}() in a loop: its time cannot be bounded")
            )
        self.budget.seconds += cost

    def _cost(self, node: ast.Call, name: str) -> int | None:
        if name == "shutdown":
            return SHUTDOWN_ALLOWANCE
        if not (name in COMMANDS or name.startswith("wait_") or name == "retry"):
            return None
        if name == "retry":  # retry(fn, SECONDS): the one spelling every driver accepts
            value = node.args[1] if len(node.args) > 1 else None
        else:
            value = next((kw.value for kw in node.keywords if kw.arg == "timeout"), None)
        if value is None:
            return 0  # the rules report the missing timeout
        seconds = self._seconds(value)
        if seconds is None:
            what = "its timeout" if name == "retry" else "timeout="
            self.budget.problems.append(
                (node.lineno, f"{name}(): {what} must be a number or a module-level constant")
            )
            return 0
        if name in COMMANDS:
            return seconds
        return 2 * seconds if name in DOUBLE_WAITS else seconds + PROBE_ALLOWANCE

    def _seconds(self, value: ast.expr) -> int | None:
        if isinstance(value, ast.Constant) and type(value.value) is int:
            return value.value
        if isinstance(value, ast.Name):
            return self.constants.get(value.id)
        return None


def script_budget(tree: ast.Module) -> Budget:
    """The worst case of one script (its module body, helpers counted at each call)."""
    counter = _Counter(tree)
    for stmt in tree.body:
        counter.visit(stmt)
    return counter.budget


def budget_problems(tree: ast.Module, timeout: int) -> list[tuple[int | None, str]]:
    """Problems of one booted check's script against its globalTimeout (seconds)."""
    budget = script_budget(tree)
    problems: list[tuple[int | None, str]] = list(budget.problems)
    if budget.total > timeout:
        boot = f"boot allowance {BOOT_ALLOWANCE} s + " if budget.boots else ""
        message = (
            f"worst case {budget.total} s ({boot}waits {budget.seconds} s) exceeds the"
            f" check's globalTimeout {timeout} s (suite.json timeoutSeconds)"
        )
        problems.append((None, message))
    return problems
