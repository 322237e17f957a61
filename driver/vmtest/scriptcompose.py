"""The texts the VM test scripts are type-checked as, with a map back to each script's lines.

nixpkgs (nixos/lib/testing/driver.nix) checks a test script after
nixos/lib/test-script-prepend.py and one `<node>: QemuMachine` line per node; here the
driver model tests/e2e/driver-model/prelude.py stands in for the prepend. The suite
script is composed exactly as tests/e2e/suite.nix builds it for the driver: the runner
prelude, then each booted check's script, indented, under `with vmtest_case("<check>"):`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vmtest.errors import BadInput

E2E_DIR = Path("tests/e2e")
SUITE_FILE = E2E_DIR / "suite.json"
MODEL_FILE = E2E_DIR / "driver-model/prelude.py"
RUNNER_FILE = E2E_DIR / "runner/prelude.py"
INDENT = "    "


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


class FileBuilder:
    """Concatenates texts into one checked file, recording where each source lands."""

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

    def extend(self, checked: CheckedFile) -> None:
        offset = self.next_line - 1
        self.parts.append(checked.text)
        self.segments.extend(Segment(s.source, s.first + offset, s.count) for s in checked.segments)
        self.next_line += _line_count(checked.text)

    def build(self, name: str) -> CheckedFile:
        return CheckedFile(name, "".join(self.parts), tuple(self.segments))


def script_alone(project_root: Path, script: Path) -> CheckedFile:
    """One script as it is (what pyflakes reads)."""
    builder = FileBuilder()
    builder.add((project_root / script).read_text(), script)
    return builder.build(script.name)


def compose_suite_script(project_root: Path) -> CheckedFile:
    """The suite's test script template (before facts are filled in), as suite.nix builds it."""
    suite = load_suite(project_root)
    builder = FileBuilder()
    builder.add((project_root / RUNNER_FILE).read_text(), RUNNER_FILE)
    for name, script in suite.boot_scripts:
        builder.add(case_header(name))
        builder.add(indent_script((project_root / script).read_text()), script)
    return builder.build("vmtest_suite_script.py")


def _node_declarations(nodes: Iterable[str]) -> str:
    return "".join(f"{node}: QemuMachine\n" for node in nodes)


def with_driver_model(project_root: Path, suite: Suite, body: CheckedFile) -> CheckedFile:
    """The driver model and the node declarations, then `body` (as driver.nix does)."""
    builder = FileBuilder()
    builder.add((project_root / MODEL_FILE).read_text(), MODEL_FILE)
    builder.add(_node_declarations(suite.nodes))
    builder.extend(body)
    return builder.build(body.name)


def runner_and_script(project_root: Path, script: Path) -> CheckedFile:
    """A booted check's script after the suite runner's prelude (the names it defines)."""
    builder = FileBuilder()
    builder.add((project_root / RUNNER_FILE).read_text(), RUNNER_FILE)
    builder.add((project_root / script).read_text(), script)
    return builder.build(script.stem.replace("-", "_") + ".py")
