"""Classify Nix error messages (ANSI already stripped): build failure, build summary, other.

Wordings: "builder for '<drv>' failed with exit code N" (Nix 2.8, recorded in
tests/driver/fixtures/logs/, and 2.26); "Cannot build '<drv>'.\n Reason: builder
failed with exit code N." (newer Nix, as seen in public build logs, possibly
behind "build of '<drv>^*' failed: "); "... failed due to signal N (Killed)";
summaries that only repeat a failure: "N dependencies of derivation '<drv>'
failed to build", "build of '<drv>' failed", "Cannot build '<drv>'.\n Reason: N
dependency failed.".
Error positions: "at /nix/store/<hash>-source/flake.nix:5:31:" (2.8) or, with
newer Nix, "at «github:o/r/rev»/flake.nix:5:31:"; the JSON `msg` record also
carries `file`/`line`/`column` when the error has a position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmtest.text import article

_DRV = r"(?P<drv>/[^'\s]+\.drv)"
_BUILDER_FAILED = re.compile(
    r"builder for '" + _DRV + r"' failed (?:with exit code (?P<code>-?\d+)"
    r"|due to signal (?P<sig>\d+))"
)
_CANNOT_BUILD = re.compile(
    r"Cannot build '" + _DRV + r"'\.\s*Reason: builder failed "
    r"(?:with exit code (?P<code>-?\d+)|due to signal (?P<sig>\d+))",
    re.DOTALL,
)
_SUMMARY = re.compile(
    r"dependenc(?:y|ies) (?:of derivation '[^']*' )?failed(?: to build)?"
    r"|build of '[^']*' failed|^error: Cannot build '[^']*'\.\s*Reason: \d+ dependenc",
    re.MULTILINE,
)
# Errors about running Nix rather than about the flake (Ctrl-C, no builders).
_OPERATIONAL = re.compile(r"interrupted by the user|unable to start any build")
# Nix 2.8 (recorded here; it stops the whole build): "a 'x86_64-linux' with features {kvm,
# nixos-test} is required to build '/nix/store/x.drv', but I am a 'x86_64-linux' with
# features {benchmark, big-parallel}".
_FEATURES_REFUSED = re.compile(
    r"a '(?P<system>[^']+)' with features \{(?P<need>[^}]*)\} is required to build "
    r"'" + _DRV + r"', but I am a '(?P<host>[^']+)' with features \{(?P<have>[^}]*)\}"
)
# Newer Nix (libstore derivation-building-goal.cc, as stored by the search tool):
# "Cannot build '<drv>'.\nReason: required system or feature not available\nRequired
# system: '<s>' with features {<f>}\nCurrent system: '<s>' with features {<f>}".
_FEATURES_REFUSED_NEW = re.compile(
    r"Cannot build '" + _DRV + r"'\.\s*Reason: required system or feature not available\s*"
    r"Required system: '(?P<system>[^']+)' with features \{(?P<need>[^}]*)\}\s*"
    r"Current system: '(?P<host>[^']+)' with features \{(?P<have>[^}]*)\}"
)
_POSITION = re.compile(r"^\s*at (?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+):?\s*$", re.MULTILINE)
_ERROR_LINE = re.compile(r"^\s*error:", re.MULTILINE)


@dataclass(frozen=True)
class BuilderFailure:
    drv_path: str
    exit_code: int | None
    signal: int | None


@dataclass(frozen=True)
class Position:
    file: str
    line: int
    column: int


def builder_failure(text: str) -> BuilderFailure | None:
    """The failing derivation and exit code (or signal) named in `text`, if any."""
    m = _BUILDER_FAILED.search(text) or _CANNOT_BUILD.search(text)
    if m is None:
        return None
    code = int(m["code"]) if m["code"] is not None else None
    sig = int(m["sig"]) if m["sig"] is not None else None
    return BuilderFailure(m["drv"], code, sig)


@dataclass(frozen=True)
class FeatureRefusal:
    """Nix would not build `drv_path` here: it needs another platform (`system`, this machine
    builds for `host`) or system features this machine lacks (`missing`)."""

    drv_path: str
    line: str  # Nix's own words
    missing: tuple[str, ...]
    system: str = ""
    host: str = ""

    @property
    def fix(self) -> str:
        fixes = []
        if self.system and self.host and self.system != self.host:
            fixes.append(
                f"build it on {article(self.system)} {self.system} machine "
                f"(--builders 'ssh://HOST {self.system}', "
                f"--store), or let this {self.host} machine emulate it (extra-platforms = "
                f"{self.system} in nix.conf with binfmt; NixOS: boot.binfmt.emulatedSystems)"
            )
        if self.missing:
            fixes.append(
                f'add "extra-system-features = {" ".join(self.missing)}" to nix.conf (the '
                "nix-daemon reads /etc/nix/nix.conf; restart it), or build on a machine that "
                "has them (--builders, --store)"
            )
        return "; ".join(fixes) or "build it on a machine that Nix says can (--builders, --store)"


def feature_refusal(text: str) -> FeatureRefusal | None:
    """Nix's refusal to build a derivation for another platform or missing system features."""
    m = _FEATURES_REFUSED.search(text) or _FEATURES_REFUSED_NEW.search(text)
    if m is None:
        return None
    have = {f.strip() for f in m["have"].split(",")}
    need = [f.strip() for f in m["need"].split(",") if f.strip()]
    missing = tuple(f for f in need if f not in have)
    line = " ".join(m.group(0).split())
    return FeatureRefusal(m["drv"], line, missing, system=m["system"], host=m["host"])


def is_build_summary(text: str) -> bool:
    """True for an error that only summarises failed builds reported elsewhere."""
    return _SUMMARY.search(text) is not None


def is_operational(text: str) -> bool:
    """True for errors about running Nix itself (interrupted, no way to build)."""
    return _OPERATIONAL.search(text) is not None


def error_position(text: str) -> Position | None:
    """The position of the innermost error: the first `at f:l:c` after the last `error:`."""
    starts = [m.start() for m in _ERROR_LINE.finditer(text)]
    tail = text[starts[-1] :] if starts else text
    m = _POSITION.search(tail) or _POSITION.search(text)
    if m is None:
        return None
    return Position(m["file"], int(m["line"]), int(m["col"]))


def headline(text: str) -> str:
    """The message of the innermost `error:` line, without the prefix."""
    lines = text.strip().splitlines()
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith("error:") and stripped != "error:":
            return stripped.removeprefix("error:").strip()
    for line in lines:
        stripped = line.strip()
        if stripped and stripped != "error:" and not stripped.startswith("…"):
            return stripped.removeprefix("error:").strip()
    return text.strip()
