"""The information and tool commands of `vmtest`: list, doctor, lint-scripts, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmtest.cli.handling import handled_errors
from vmtest.cli.manifest import load_manifest
from vmtest.cli.options import Builders, Flake, JsonOut, JunitPath, NixOption, Store, SystemOpt
from vmtest.errors import ExitCode

# ----------------------------------------------------------------- information


def list_checks(
    flake: Flake = ".",
    system: SystemOpt = None,
    json_out: JsonOut = False,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """List the checks of the flake's manifest."""
    from vmtest import output

    with handled_errors():
        loaded = load_manifest(flake, system, builders, store, option)
        output.print_checks(loaded.manifest, loaded.system, json_out, loaded.unlisted())


def doctor(json_out: JsonOut = False) -> None:
    """Is this machine ready for the quick and the full tier?"""
    from vmtest import doctor as doc
    from vmtest import output

    with handled_errors():
        items = doc.diagnose()
        output.print_doctor(items, json_out)
        if doc.full_tier_blockers(items):
            raise typer.Exit(int(ExitCode.ENVIRONMENT))


# ----------------------------------------------------------------- tools


def lint_scripts(
    project: Annotated[
        Path, typer.Option("--project", help="Project root (has tests/e2e/scripts).")
    ] = Path(),
) -> None:
    """Check the VM test scripts as nixpkgs' test build does (ty, ruff), plus mypy and rules."""
    from vmtest.scriptlint import lint

    with handled_errors():
        problems = lint.lint_scripts(project)
        for problem in problems:
            typer.echo(problem.render())
        typer.echo(lint.summary(project, problems), err=bool(problems))
        if problems:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))


def report_cmd(
    source: Annotated[Path, typer.Argument(help="A JSON run report (from --report).")],
    junit: JunitPath = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write Markdown here ('-': stdout).")
    ] = None,
) -> None:
    """Turn a JSON run report into JUnit XML and/or Markdown (else print a summary)."""
    from vmtest import output

    with handled_errors():
        output.convert_report(source, junit, markdown)
