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
carries `file`/`line`/`column` when the error has a position (Nix 2.26, seen here,
writes `file` as "<path>:<line>:<column>").
Error text: Nix 2.8 prints "error: <message>", then the position and a code snippet.
Nix 2.26 (seen here) prints a trace first: a bare "error:" line, indented "… while ..."
frames each with its position and snippet, "(stack trace truncated; ...)", and the
innermost message as an indented "error: <message>"; some messages without a trace
also start with a bare "error:" and continue on the next lines ("Unable to start any
build; ...").
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
# Errors about running Nix rather than about the flake (Ctrl-C, no builders; "Unable to
# start any build" on Nix 2.26).
_OPERATIONAL = re.compile(r"interrupted by the user|unable to start any build", re.IGNORECASE)
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
# Lines that are not a message's words: trace frames, positions, code snippets, notes.
_NOT_WORDS = re.compile(
    r"^\s*(?:…|at \S.*:\d+:\d+:?$|\d*\s*\||\(stack trace truncated|\(use '--show-trace')"
)
# Nix's own files (`<nix/derivation-internal.nix>`) and positions without a file.
_INTERNAL_FILE = re.compile(r"^(?:<.*>|«none»|«string»)$")


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
    """Where the innermost error is: the `at f:l:c` after the last `error:` (its own);
    else, or when that is not in the user's flake, the innermost trace frame in it (the
    source whose flake.nix the trace passes through); else the innermost frame in any
    file but Nix's own (`<nix/derivation-internal.nix>`). Nix 2.26 gives a `throw` or a
    derivation's argument no position of its own, only frames."""
    starts = [m.start() for m in _ERROR_LINE.finditer(text)]
    last = starts[-1] if starts else 0
    own = _POSITION.search(text, last)
    frames = [m for m in _POSITION.finditer(text, 0, last) if not _INTERNAL_FILE.match(m["file"])]
    flakes = [m["file"] for m in frames if m["file"].endswith("/flake.nix")]
    sources = [f.removesuffix("flake.nix") for f in flakes]
    users = [m for m in frames if sources and m["file"].startswith(sources[0])]
    if own is not None and _INTERNAL_FILE.match(own["file"]):
        own = None
    if own is not None and (not users or own["file"].startswith(sources[0])):
        users = [own]
    candidates = users or frames
    if not candidates:
        return None
    found = candidates[-1]
    return Position(found["file"], int(found["line"]), int(found["col"]))


def position(file: str, line: int, column: int) -> Position | None:
    """A position from the JSON log's fields (Nix 2.26 appends ":line:column" to `file`);
    None for a position in one of Nix's own files."""
    file = file.removesuffix(f":{line}:{column}")
    return None if _INTERNAL_FILE.match(file) else Position(file, line, column)


def is_error(text: str) -> bool:
    """True when `text` holds an `error:` line (plain, or nested in Nix 2.26's trace)."""
    return _ERROR_LINE.search(text) is not None


def reason(text: str) -> str:
    """Nix's own words for an error (ANSI stripped) on one line: the innermost `error:`
    message of the first error and the lines continuing it; trace frames, positions and
    code snippets left out. Nix 2.26 puts the message after the trace, or on the lines
    after a bare `error:`; Nix 2.8 on the `error:` line."""
    words: list[str] = []
    reading = False
    for line in text.strip().splitlines():
        if line.startswith("error:") and any(words):
            break  # a second error of its own: the first one says why
        if _ERROR_LINE.match(line):
            words, reading = [line.strip().removeprefix("error:").strip()], True
        elif reading and (not line.strip() or _NOT_WORDS.match(line)):
            reading = not line.strip() and words == [""]
        elif reading:
            words.append(line.strip())
    said = " ".join(w for w in words if w)
    return said or headline(text)


def headline(text: str) -> str:
    """The message of the innermost `error:` line, without the prefix."""
    lines = text.strip().splitlines()
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith("error:") and stripped != "error:":
            return stripped.removeprefix("error:").strip()
    for line in lines:
        stripped = line.strip()
        if stripped and stripped != "error:" and not _NOT_WORDS.match(stripped):
            return stripped.removeprefix("error:").strip()
    return text.strip()
