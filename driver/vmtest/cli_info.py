"""The information and tool commands of `vmtest`: list, doctor, manifest, lint-scripts, report.

Registered on the app of `vmtest.cli` (which imports this module); same rules:
typer only, expected errors mapped by `handled_errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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
    nix_options,
    system_of,
)
from vmtest.errors import ExitCode, VmtestError

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
        opts = nix_options(builders, store, option)
        system_ = system_of(system, opts)
        output.print_checks(load_manifest(flake, system_, opts), system_, json_out)


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
        opts = nix_options(builders, store, option)
        manifest = load_manifest(flake, system_of(system, opts), opts)
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
        opts = nix_options(builders, store, option)
        system_ = system_of(system, opts)
        manifest = load_manifest(flake, system_, opts)
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
    import importlib

    with handled_errors():
        try:  # helper B's module; imported lazily so the rest works without it
            module = importlib.import_module("vmtest.scriptlint")
        except ImportError as exc:
            raise VmtestError("vmtest.scriptlint is not installed in this build") from exc
        lint: Callable[[Path], list[Any]] = module.lint_scripts
        problems = lint(project)
        for p in problems:
            where = f"{p.script}:{p.line}" if p.line is not None else f"{p.script}"
            typer.echo(f"{where}: [{p.tool}] {p.message}")
        if problems:
            typer.echo(f"{len(problems)} problem(s)", err=True)
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
        typer.echo("lint-scripts: no problems")


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
