"""A timed wait on a node counts from its root shell, never from its boot.

The driver's `retry` reads its start time before the first attempt, and the first
attempt of a wait or command blocks in `connect()` until the guest's root shell answers,
without a limit (machine/__init__.py @ 019697db058b): `wait_for_unit(..., timeout=60)`
issued while the node boots also pays the boot, and fails a good but slow boot. Only
`globalTimeout` bounds a boot. So a script awaits each node's shell with `connect()`
(no timeout; a public method in nixos-24.11 and on master) before any timed call on it.

Read in program order, helpers at each call (as `vmtest.scriptlint.budget` counts them):
`connect()` marks a node's shell as awaited; `shutdown()`, `crash()` and `reboot()`
clear it (the next command boots the node again).
"""

from __future__ import annotations

import ast

from vmtest.scriptlint.budget import COMMANDS

#: Waits that do not go through the guest's shell (serial console, QMP, monitor).
NO_SHELL = frozenset(
    {"wait_for_console_text", "wait_for_qmp_event", "wait_for_monitor_prompt", "wait_for_shutdown"}
)
#: Calls after which the node has no shell until it boots again.
SHELL_GONE = frozenset({"shutdown", "crash", "reboot"})


def _timed(name: str) -> bool:
    return (name in COMMANDS or name.startswith("wait_")) and name not in NO_SHELL


class _Reader(ast.NodeVisitor):
    def __init__(self, tree: ast.Module, nodes: dict[str, str]) -> None:
        self.nodes = nodes  # name in the script -> node
        self.functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
        self.awaited: set[str] = set()
        self.calling: list[tuple[str, int]] = []  # helpers being read, with their call lines
        self.problems: list[tuple[int, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return  # read where it is called

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)  # the arguments run first
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.functions:
            self._helper(func.id, node.lineno)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.nodes
        ):
            self._machine_call(func.value.id, func.attr, node.lineno)

    def _helper(self, name: str, line: int) -> None:
        if name in (called for called, _ in self.calling):
            return  # recursion: read once
        self.calling.append((name, line))
        for stmt in self.functions[name].body:
            self.visit(stmt)
        self.calling.pop()

    def _machine_call(self, machine: str, method: str, line: int) -> None:
        node = self.nodes[machine]
        if method == "connect":
            self.awaited.add(node)
        elif method in SHELL_GONE:
            self.awaited.discard(node)
        elif _timed(method) and node not in self.awaited:
            where = self.calling[0][1] if self.calling else line  # the script's own line
            message = (
                f"{machine}.{method}() before {machine}.connect(): its timeout would also"
                " count the boot (await the node's shell first)"
            )
            self.problems.append((where, message))


def shell_problems(tree: ast.Module, nodes: tuple[str, ...]) -> list[tuple[int, str]]:
    """Timed calls on a node whose root shell the script has not awaited (line, message).

    `nodes` are the check's nodes; a lone node is also `machine` (driver.nix)."""
    names = {node: node for node in nodes}
    if len(nodes) == 1:
        names.setdefault("machine", nodes[0])
    reader = _Reader(tree, names)
    for stmt in tree.body:
        reader.visit(stmt)
    return reader.problems
