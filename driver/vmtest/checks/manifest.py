"""Pydantic model of the flake's `lib.vmtestManifest`, and its validation.

The model is the contract of nix/manifest.nix: exact camelCase field names,
nothing else (extra=forbid). Parsing is separate from fetching: `parse_manifest`
takes the JSON text `nix eval --json <flake>#lib.vmtestManifest` printed;
`check_defined` compares it with the names under `checks.<system>`.
Every problem is one clear line; all of them are reported together.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from vmtest.errors import BadInput

SCHEMA_VERSION: Literal[1] = 1
QUICK_CHECK = "unit-vm-analysis"
FULL_CHECK = "vm-test-suite"
#: The check `vmtest quick` / `vmtest full` runs.
TIER_CHECKS = {"quick": QUICK_CHECK, "full": FULL_CHECK}
SYSTEM_PLACEHOLDER = "{system}"

CheckName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_'-]*$", max_length=100)]
System = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$")]


class ManifestInvalid(BadInput):
    """The manifest is not what the schema says; `problems` has one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(
            f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="see `vmtest manifest schema` for the expected shape",
        )
        self.problems = problems


class Check(BaseModel):
    """One check the flake exports (an attribute of checks.<system>)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: CheckName = Field(description="Attribute name under checks.<system>")
    attr: str = Field(
        description='"checks.<system>.<name>", with the literal "{system}" when several systems'
    )
    tier: Literal["quick", "full"]
    systems: list[System] = Field(min_length=1)
    requiresKvm: bool
    timeoutSeconds: int = Field(gt=0, le=7 * 24 * 3600)  # at most a week
    description: str
    subtests: list[str]

    @model_validator(mode="after")
    def _attr_matches(self) -> Check:
        if len(set(self.systems)) != len(self.systems):
            raise ValueError(f"systems lists a system twice: {self.systems}")
        system = SYSTEM_PLACEHOLDER if len(self.systems) > 1 else self.systems[0]
        expected = f"checks.{system}.{self.name}"
        if self.attr != expected:
            raise ValueError(f"attr is {self.attr!r}, expected {expected!r}")
        return self

    def attr_for(self, system: str) -> str:
        """The concrete flake attribute for `system`."""
        return f"checks.{system}.{self.name}"


class Manifest(BaseModel):
    """`lib.vmtestManifest`: every check of the flake, plain data."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schemaVersion: Literal[1]
    checks: list[Check]

    def by_name(self) -> dict[str, Check]:
        return {c.name: c for c in self.checks}

    def for_system(self, system: str) -> list[Check]:
        return [c for c in self.checks if system in c.systems]


def schema() -> dict[str, Any]:
    """JSON Schema of the manifest, generated from the model."""
    return Manifest.model_json_schema()


def parse_manifest(text: str, source: str = "vmtestManifest") -> Manifest:
    """Validate manifest JSON; raise `ManifestInvalid` listing every problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestInvalid(source, [f"not JSON ({exc.msg}): {text[:120]!r}"]) from exc
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestInvalid(source, [_describe(err, data) for err in exc.errors()]) from exc
    duplicates = sorted(n for n, k in Counter(c.name for c in manifest.checks).items() if k > 1)
    if duplicates:
        raise ManifestInvalid(source, [f"duplicate check name {n!r}" for n in duplicates])
    return manifest


def check_defined(manifest: Manifest, system: str, defined: list[str]) -> None:
    """Every manifest check for `system` must exist under checks.<system>."""
    present = set(defined)
    missing = [c for c in manifest.for_system(system) if c.name not in present]
    if missing:
        raise ManifestInvalid(
            "vmtestManifest",
            [
                f"check {c.name!r} is listed for {system} but the flake does not define "
                f"{c.attr_for(system)}"
                for c in missing
            ],
        )


def _describe(err: ErrorDetails, data: object) -> str:
    """One line for a pydantic error, naming the check by its name when possible."""
    loc = list(err["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
        name = _check_name(data, loc[1])
        field = ".".join(str(p) for p in loc[2:])
        if name:
            where = f"check {name!r} (checks[{loc[1]}])" + (f": {field}" if field else "")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "missing field"
    elif err["type"] == "literal_error" and loc[-1] == "tier":
        msg = f"must be 'quick' or 'full', got {err.get('input')!r}"
    return f"{where}: {msg}"


def _check_name(data: object, index: int) -> str | None:
    try:
        name = data["checks"][index]["name"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return name if isinstance(name, str) else None
