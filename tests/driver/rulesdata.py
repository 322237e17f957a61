"""The quick-tier rules (tests/unit/rules.nix) on fixture data, with the real `nix`.

Shared by the rule tests: `f` in an expression is tests/unit/fixtures.
"""

from __future__ import annotations

from typing import Any

from nixeval import UNIT, eval_json

RULES = UNIT / "rules.nix"
FIXTURES = UNIT / "fixtures"


def analyse(data_expr: str) -> list[dict[str, Any]]:
    """Findings for a fixture expression; `f` is tests/unit/fixtures."""
    findings: list[dict[str, Any]] = eval_json(
        f"let f = import {FIXTURES}; in (import {RULES}).analyse ({data_expr})"
    )
    return findings


def with_passing(change: str) -> list[dict[str, Any]]:
    """Findings for the passing fixture updated with the Nix attrset `change`."""
    return analyse(f"f.update f.passing ({change})")


def ids(findings: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in findings]


def messages(findings: list[dict[str, Any]], rule: str) -> list[str]:
    """The messages of one rule's findings, warnings marked `warning: `."""
    return [
        f["message"] if f["severity"] == "error" else f"{f['severity']}: {f['message']}"
        for f in findings
        if f["id"] == rule
    ]
