"""The `vmtest manifest` command group: show, validate or describe the flake's manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from vmtest.cli.handling import handled_errors
from vmtest.cli.options import Builders, Flake, NixOption, Store, SystemOpt

if TYPE_CHECKING:
    from vmtest.checks.manifest import Manifest

manifest_app = typer.Typer(help="Show, validate or describe the flake's lib.vmtestManifest.")


def load_manifest(
    flake: str,
    system: str | None,
    builders: str | None,
    store: str | None,
    option: list[str] | None,
) -> tuple[Manifest, str]:
    """The flake's validated manifest and the system it was checked for."""
    from vmtest.checks.selection import load_manifest_for
    from vmtest.nix.argv import NixOptions

    return load_manifest_for(flake, system, NixOptions.from_cli(builders, store, option))


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

    from vmtest.checks.manifest import schema

    typer.echo(json.dumps(schema(), indent=2, sort_keys=True))
