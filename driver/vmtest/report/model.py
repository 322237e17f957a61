"""Versioned result models of a `vmtest` run (the JSON run report, schemaVersion 1).

Pure data: nothing here runs a process or reads a file. JSON keys are camelCase
(like the manifest); unknown keys are rejected, so a report written by a newer,
incompatible tool fails validation with a clear message instead of being half read.

Times are seconds (float). A phase time is `None` when the log did not tell us
(e.g. no boot phase for a quick-tier check, or a build that failed before boot).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from vmtest.errors import BadInput
from vmtest.text import plural

SCHEMA_VERSION: Literal[1] = 1


class Status(StrEnum):
    """Outcome of a check, of a subtest or of a whole run."""

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    INTERRUPTED = "interrupted"
    NOT_RUN = "not-run"
    EVAL_ERROR = "eval-error"
    SKIPPED = "skipped"


# Worst first: the overall status of a run is the worst status of its checks.
_SEVERITY_ORDER: tuple[Status, ...] = (
    Status.INTERRUPTED,
    Status.TIMED_OUT,
    Status.EVAL_ERROR,
    Status.FAILED,
    Status.NOT_RUN,
    Status.SKIPPED,
    Status.PASSED,
)


def status_rank(status: Status) -> int:
    """0 for the worst status; sort by this to put failures first."""
    return _SEVERITY_ORDER.index(status)


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


class Finding(_Model):
    """One finding of the quick-tier analysis (`rule`/`option`/`fix` of tests/unit/report.nix)."""

    id: str = Field(description="Rule id, e.g. docker-enabled")
    severity: Literal["error", "warning"]
    option: str = Field(description="NixOS option the finding is about")
    message: str
    fix: str = Field(description="What to change, e.g. 'set x = true;'")
    config: str | None = Field(default=None, description="Configuration name, when known")


class EvalErrorInfo(_Model):
    """A Nix evaluation error; the position is set only when Nix gave one."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


class FailureInfo(_Model):
    """Why a check did not pass, as far as the log tells."""

    message: str = Field(description="One-line summary shown to the user")
    drv_path: str | None = Field(default=None, description="The failing derivation")
    exit_code: int | None = Field(default=None, description="Builder exit code")
    log_tail: list[str] = Field(default_factory=list, description="Last lines of its log")
    eval_error: EvalErrorInfo | None = None


class PhaseTimes(_Model):
    """Seconds spent per phase; `build` is building the closure up to the test run."""

    evaluate: float | None = None
    build: float | None = None
    boot: float | None = None
    script: float | None = None


class SubtestResult(_Model):
    """One `with subtest("..."):` block of a NixOS test script."""

    name: str
    status: Status
    duration: float | None = None
    message: str | None = Field(default=None, description="Error message when it failed")


class CheckResult(_Model):
    """Result of one flake check."""

    name: str
    attr: str = Field(description="Concrete flake attribute, e.g. checks.x86_64-linux.x")
    status: Status
    cached: bool = Field(
        default=False, description="Passed from the store: built before, nothing ran now"
    )
    duration: float | None = None
    phases: PhaseTimes = Field(default_factory=PhaseTimes)
    subtests: list[SubtestResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    failure: FailureInfo | None = None
    artifacts: list[str] = Field(default_factory=list, description="Output store paths")


class RunReport(_Model):
    """The whole run: what `vmtest --json` prints and `vmtest report` reads."""

    schema_version: Literal[1] = SCHEMA_VERSION
    tool_version: str
    flake: str
    system: str
    started_at: datetime
    duration: float
    status: Status
    interrupted: bool = False
    checks: list[CheckResult] = Field(default_factory=list)


def overall_status(checks: list[CheckResult], interrupted: bool = False) -> Status:
    """The worst check status; `interrupted` wins; an empty run is `not-run`."""
    if interrupted:
        return Status.INTERRUPTED
    if not checks:
        return Status.NOT_RUN
    worst = min(checks, key=lambda c: status_rank(c.status)).status
    if worst in (Status.SKIPPED, Status.NOT_RUN) and any(c.status is Status.PASSED for c in checks):
        return Status.PASSED if worst is Status.SKIPPED else Status.NOT_RUN
    return worst


def with_checks(report: RunReport, more: list[CheckResult]) -> RunReport:
    """`report` with `more` checks added (after its own) and its status made again."""
    checks = [*report.checks, *more]
    status = overall_status(checks, interrupted=report.interrupted)
    return report.model_copy(update={"checks": checks, "status": status})


def report_json_schema() -> dict[str, Any]:
    """JSON Schema of the run report (by alias, i.e. the camelCase JSON keys)."""
    return RunReport.model_json_schema(by_alias=True)


def parse_report(text: str | bytes, source: str = "report") -> RunReport:
    """Validate a JSON run report; raise `BadInput` naming `source` on any problem."""
    try:
        return RunReport.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise BadInput(
            f"{source} is not a valid vmtest run report: {where}: {first['msg']}",
            hint=f"{plural(exc.error_count(), 'problem')} in all; reports use schemaVersion "
            f"{SCHEMA_VERSION}",
        ) from exc
