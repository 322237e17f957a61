"""Expected errors as one `error: ...` line and their exit code (`--debug`: tracebacks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from vmtest.errors import ExitCode, VmtestError

#: Set by the app's callback from `--debug` / VMTEST_DEBUG.
state = {"debug": False}


@contextmanager
def handled_errors() -> Iterator[None]:
    """Map expected errors to one line and their exit code."""
    try:
        yield
    except VmtestError as exc:
        if state["debug"]:
            import traceback

            traceback.print_exc()
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  hint: {exc.hint}", err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:  # outside a run (a run reports it and exits 130 itself)
        typer.echo("interrupted", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
