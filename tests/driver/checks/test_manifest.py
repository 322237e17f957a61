"""The manifest model: what validates, and the one line each problem becomes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from vmtest.checks.manifest import ManifestInvalid, check_defined, parse_manifest, schema

SYSTEMS = ["x86_64-linux", "aarch64-linux"]


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "unit-vm-analysis",
        "attr": "checks.{system}.unit-vm-analysis",
        "tier": "quick",
        "systems": SYSTEMS,
        "requiresKvm": False,
        "timeoutSeconds": 30,
        "description": "analysis",
        "subtests": [],
    }
    base.update(overrides)
    return base


def manifest_text(*checks: dict[str, Any], **top: Any) -> str:
    return json.dumps({"schemaVersion": 1, "checks": list(checks), **top})


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest(text)
    return info.value.problems


def test_valid_manifest() -> None:
    single = entry(
        name="vm-service-test",
        attr="checks.x86_64-linux.vm-service-test",
        tier="full",
        systems=["x86_64-linux"],
        requiresKvm=True,
        subtests=["sshd accepts the test key"],
    )
    m = parse_manifest(manifest_text(entry(), single))
    assert [c.name for c in m.for_system("aarch64-linux")] == ["unit-vm-analysis"]
    assert m.by_name()["vm-service-test"].attr_for("x86_64-linux") == (
        "checks.x86_64-linux.vm-service-test"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not JSON (Expecting property name enclosed in double quotes): '{not json'"),
        (
            manifest_text(entry(extra=1)),
            "check 'unit-vm-analysis' (checks[0]): extra: unknown field",
        ),
        (manifest_text(entry(), color="red"), "color: unknown field"),
        (
            manifest_text(entry(tier="medium")),
            "check 'unit-vm-analysis' (checks[0]): tier: must be 'quick' or 'full', got 'medium'",
        ),
        (manifest_text(entry(), entry()), "duplicate check name 'unit-vm-analysis'"),
        (
            manifest_text(entry(attr="checks.x86_64-linux.unit-vm-analysis")),
            (
                "check 'unit-vm-analysis' (checks[0]): attr is "
                "'checks.x86_64-linux.unit-vm-analysis', expected 'checks.{system}.unit-vm-analysis'"
            ),
        ),
        (
            manifest_text(entry(timeoutSeconds="30")),
            "check 'unit-vm-analysis' (checks[0]): timeoutSeconds: Input should be a valid integer",
        ),
        (
            manifest_text(entry(requiresKvm=None)),
            "check 'unit-vm-analysis' (checks[0]): requiresKvm: Input should be a valid boolean",
        ),
        (json.dumps({"schemaVersion": 2, "checks": []}), "schemaVersion: Input should be 1"),
        (json.dumps({"checks": []}), "schemaVersion: missing field"),
    ],
    ids=[
        "not-json",
        "unknown-field",
        "unknown-top-field",
        "bad-tier",
        "duplicate",
        "bad-attr",
        "timeout-string",
        "kvm-null",
        "schema-version",
        "missing-version",
    ],
)
def test_one_line_per_problem(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_every_problem_is_listed() -> None:
    text = manifest_text(
        entry(tier="x", bogus=1), entry(name="b", attr="checks.{system}.b", systems=[])
    )
    found = problems(text)
    assert len(found) == 3
    assert any("tier" in p for p in found) and any("bogus" in p for p in found)
    assert any("checks[1]): systems" in p for p in found)


def test_check_defined() -> None:
    m = parse_manifest(manifest_text(entry()))
    check_defined(m, "x86_64-linux", ["unit-vm-analysis", "other"])
    with pytest.raises(ManifestInvalid) as info:
        check_defined(m, "aarch64-linux", ["other"])
    assert info.value.problems == [
        (
            "check 'unit-vm-analysis' is listed for aarch64-linux but the flake does not define "
            "checks.aarch64-linux.unit-vm-analysis"
        )
    ]


def test_schema_is_generated_from_the_model() -> None:
    s = schema()
    check = s["$defs"]["Check"]
    assert check["additionalProperties"] is False
    assert set(check["required"]) == {
        "name",
        "attr",
        "tier",
        "systems",
        "requiresKvm",
        "timeoutSeconds",
        "description",
        "subtests",
    }
    assert check["properties"]["tier"]["enum"] == ["quick", "full"]
