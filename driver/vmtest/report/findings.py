"""The quick-tier analysis text (tests/unit/report.nix writes it): findings parsed and written.

The text is the `unit-vm-analysis` build log on failure or its `$out` on
success. It may be surrounded by other log lines, carry ANSI colours, or have
every line prefixed the way `nix build -L` / `nix log` do (`name> `): a block
is recognised by its header line and every following line must carry the same
prefix. Shape (2-space dash, 6-space keys `rule`, `option`, `fix`):

    error: VM configuration has issues:
      - Docker service not properly configured
          rule: docker-enabled
          option: virtualisation.docker.enable
          fix: set virtualisation.docker.enable = true;
    warning: VM configuration has warnings:
      - <message>
          ...

Several analysed configurations: a finding may name its configuration with an
extra `config: <name>` key line or a `[<name>] ` message prefix; both are read
into `Finding.config` (the report.nix keys stay as they are).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from vmtest.report.model import Finding
from vmtest.text import strip_ansi

Severity = Literal["error", "warning"]

#: The heading of each block, by severity (errors first).
FINDINGS_HEADINGS: dict[Severity, str] = {
    "error": "error: VM configuration has issues:",
    "warning": "warning: VM configuration has warnings:",
}
_SEVERITY_OF = {heading: severity for severity, heading in FINDINGS_HEADINGS.items()}
_HEADER_RE = re.compile(
    r"^(?P<prefix>.*?)(?P<header>" + "|".join(map(re.escape, FINDINGS_HEADINGS.values())) + r")\s*$"
)
_ITEM_RE = re.compile(r"^  - (?P<message>\S.*?)\s*$")
_KEY_RE = re.compile(r"^      (?P<key>rule|option|fix|config): ?(?P<value>.*?)\s*$")
_CONFIG_PREFIX_RE = re.compile(r"^\[(?P<config>[^\]\s]+)\] (?P<message>.+)$")
#: The summary tests/unit/report.nix ends a failing log with (for plain `nix build`'s
#: 10-line tail); it belongs to the report, not to the log tail shown beside it.
_TRAILER_RE = re.compile(r"^(unit-vm-analysis: \d+ issues? \(|full list: )")
_SUMMARY_RE = re.compile(
    r"vm-analysis: OK \((?P<rules>\d+) rules?, (?P<warnings>\d+) warnings?\) for (?P<configs>.+?)\s*$"
)


@dataclass(frozen=True)
class AnalysisSummary:
    """The success line `vm-analysis: OK (<N> rules, <W> warnings) for <configs>`."""

    rules: int
    warnings: int
    configs: tuple[str, ...]


def parse_findings(text: str) -> list[Finding]:
    """Every finding of every error/warning block in `text`, in order of appearance."""
    lines = [strip_ansi(line) for line in text.splitlines()]
    return [f for _, _, block in _blocks(lines) for f in block]


def findings_lines(findings: list[Finding]) -> list[str]:
    """The spec's wording, as the analysis itself prints it: a heading per severity, then
    `  - <message>` per finding with its rule, option and fix (see tests/unit/report.nix)."""
    lines: list[str] = []
    for severity, heading in FINDINGS_HEADINGS.items():
        chosen = [f for f in findings if f.severity == severity]
        if chosen:
            lines.append(heading)
        for f in chosen:
            where = f"[{f.config}] " if f.config else ""
            lines += [
                f"  - {where}{f.message}",
                f"      rule: {f.id}",
                f"      option: {f.option}",
                f"      fix: {f.fix}",
            ]
    return lines


def outside_findings(lines: list[str]) -> list[str]:
    """The lines that are not part of an error/warning block (e.g. of a log tail)."""
    inside: set[int] = set()
    for start, end, _ in _blocks([strip_ansi(line) for line in lines]):
        inside.update(range(start, end))
    return [line for i, line in enumerate(lines) if i not in inside]


def _blocks(lines: list[str]) -> Iterator[tuple[int, int, list[Finding]]]:
    """(first line, line after the block, its findings) of every block, in order."""
    i = 0
    while i < len(lines):
        m = _HEADER_RE.match(lines[i])
        if m is None:
            i += 1
            continue
        start, prefix = i, m["prefix"]
        i, block = _parse_block(lines, i + 1, prefix, _SEVERITY_OF[m["header"]])
        while (
            i < len(lines)
            and lines[i].startswith(prefix)
            and _TRAILER_RE.match(lines[i][len(prefix) :])
        ):
            i += 1
        yield start, i, block


def parse_summary(text: str) -> AnalysisSummary | None:
    """The success summary line, if `text` has one."""
    for line in strip_ansi(text).splitlines():
        m = _SUMMARY_RE.search(line)
        if m is not None:
            configs = tuple(c.strip() for c in re.split(r",|\band\b", m["configs"]) if c.strip())
            return AnalysisSummary(int(m["rules"]), int(m["warnings"]), configs)
    return None


def _parse_block(
    lines: list[str], start: int, prefix: str, severity: Severity
) -> tuple[int, list[Finding]]:
    """Items from `start` until a line that is not part of the block; returns the next index."""
    items: list[tuple[str, dict[str, str]]] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if not line.startswith(prefix):
            break
        body = line[len(prefix) :]
        if item := _ITEM_RE.match(body):
            items.append((item["message"], {}))
        elif (key := _KEY_RE.match(body)) and items:
            items[-1][1].setdefault(key["key"], key["value"])
        else:
            break
        i += 1
    return i, [_finding(message, keys, severity) for message, keys in items]


def _finding(message: str, keys: dict[str, str], severity: Severity) -> Finding:
    config = keys.get("config")
    if config is None and (m := _CONFIG_PREFIX_RE.match(message)):
        config, message = m["config"], m["message"]
    return Finding(
        id=keys.get("rule", ""),
        severity=severity,
        option=keys.get("option", ""),
        message=message,
        fix=keys.get("fix", ""),
        config=config,
    )
