"""The information and tool commands of `vmtest`: list, doctor, manifest, lint-scripts, report.

Registered on the app of `vmtest.cli` (which imports this module); same rules:
typer only, expected errors mapped by `handled_errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmtest.cli import (
    Builders,
    Flake,
    JsonOut,
    JunitPath,
    NixOption,
    Store,
    SystemOpt,
    app,
    handled_errors,
    load_manifest,
    manifest_app,
)
from vmtest.errors import ExitCode

# ----------------------------------------------------------------- information


@app.command("list")
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
        manifest, system_ = load_manifest(flake, system, builders, store, option)
        output.print_checks(manifest, system_, json_out)


@app.command()
def doctor(json_out: JsonOut = False) -> None:
    """Is this machine ready for the quick and the full tier?"""
    from vmtest import doctor as doc
    from vmtest import output

    with handled_errors():
        items = doc.diagnose()
        output.print_doctor(items, json_out)
        if doc.full_tier_blockers(items):
            raise typer.Exit(int(ExitCode.ENVIRONMENT))


@manifest_app.command("show")
def manifest_show(
    flake: Flake = ".",
    system: SystemOpt = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """Print the validated manifest as JSON."""
    with handled_errors():
        manifest, _ = load_manifest(flake, system, builders, store, option)
        typer.echo(manifest.model_dump_json(indent=2))


@manifest_app.command("validate")
def manifest_validate(
    flake: Flake = ".",
    system: SystemOpt = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """Validate the manifest against its schema and the flake's checks."""
    with handled_errors():
        manifest, system_ = load_manifest(flake, system, builders, store, option)
        n = len(manifest.for_system(system_))
        typer.echo(f"manifest OK: {len(manifest.checks)} checks, {n} defined for {system_}")


@manifest_app.command("schema")
def manifest_schema() -> None:
    """Print the manifest's JSON Schema (generated from the model)."""
    import json

    from vmtest.manifest import schema

    typer.echo(json.dumps(schema(), indent=2, sort_keys=True))


# ----------------------------------------------------------------- tools


@app.command("lint-scripts")
def lint_scripts(
    project: Annotated[
        Path, typer.Option("--project", help="Project root (has tests/e2e/scripts).")
    ] = Path(),
) -> None:
    """Type-check and lint the VM test scripts against the driver model."""
    from vmtest import scriptlint

    with handled_errors():
        problems = scriptlint.lint_scripts(project)
        for problem in problems:
            typer.echo(problem.render())
        typer.echo(scriptlint.summary(project, problems), err=bool(problems))
        if problems:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))


@app.command("report")
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
