"""The `vmtest manifest` command group: show, validate or describe the flake's manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from vmtest.cli.handling import handled_errors
from vmtest.cli.options import Builders, Flake, NixOption, Store, SystemOpt
from vmtest.text import plural

if TYPE_CHECKING:
    from vmtest.checks.selection import Loaded

manifest_app = typer.Typer(help="Show, validate or describe the flake's lib.vmtestManifest.")


def load_manifest(
    flake: str,
    system: str | None,
    builders: str | None,
    store: str | None,
    option: list[str] | None,
) -> Loaded:
    """The flake's validated manifest, the system it was checked for, the flake's checks."""
    from vmtest.checks.selection import load_for
    from vmtest.nix.argv import NixOptions

    return load_for(flake, system, NixOptions.from_cli(builders, store, option))


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
        loaded = load_manifest(flake, system, builders, store, option)
        typer.echo(loaded.manifest.model_dump_json(indent=2))


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
        loaded = load_manifest(flake, system, builders, store, option)
        total, n = len(loaded.manifest.checks), len(loaded.manifest.for_system(loaded.system))
        typer.echo(f"manifest OK: {plural(total, 'check')}, {n} defined for {loaded.system}")
        unlisted = loaded.unlisted()
        if unlisted:
            typer.echo(
                f"warning: the flake defines {plural(len(unlisted), 'check')} for "
                f"{loaded.system} that the manifest does not list, so vmtest never runs "
                f"{'it' if len(unlisted) == 1 else 'them'}: {', '.join(unlisted)} (add "
                f"{'it' if len(unlisted) == 1 else 'them'} to lib.vmtestManifest if "
                f"{'it is a VM test' if len(unlisted) == 1 else 'they are VM tests'})",
                err=True,
            )


@manifest_app.command("schema")
def manifest_schema() -> None:
    """Print the manifest's JSON Schema (generated from the model)."""
    import json

    from vmtest.checks.manifest import schema

    typer.echo(json.dumps(schema(), indent=2, sort_keys=True))
