"""Expected failures, each with the exit code the CLI maps it to (`EXIT_CODE_MEANINGS`).

Raise these (or subclasses) for anything a user can cause or fix; `vmtest.cli.handling`
turns them into one `error: ...` line and the exit code. Bugs stay tracebacks.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    TIMED_OUT = 4
    INTERRUPTED = 130


#: What each exit code means, in the words of README.md ("Exit codes: ...").
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.PASSED: "passed",
    ExitCode.CHECK_FAILED: "a check failed",
    ExitCode.BAD_INPUT: "bad usage or bad input (unknown check, malformed manifest, "
    "unwritable report path, an --override-input naming no input)",
    ExitCode.ENVIRONMENT: "environment not ready (no nix, flakes off, no usable KVM or no "
    "kvm/nixos-test system features for the full tier, a check Nix refuses to build here, "
    "a flake input or source that cannot be fetched, an unreachable --store or builder)",
    ExitCode.TIMED_OUT: "timed out",
    ExitCode.INTERRUPTED: "interrupted",
}


class VmtestError(Exception):
    """Base of every expected error; `hint` is an optional second line on how to fix it."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(VmtestError):
    """Bad usage or bad input: unknown check, malformed manifest, unwritable path."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentNotReady(VmtestError):
    """No nix, flakes off, no usable KVM, missing tool."""

    exit_code = ExitCode.ENVIRONMENT
