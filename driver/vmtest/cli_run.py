"""The run commands of `vmtest`: quick, full and run (typer only, like `vmtest.cli`).

Registered on the app of `vmtest.cli` (which imports this module); expected errors
are mapped by `handled_errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

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
    nix_options,
)

# ----------------------------------------------------------------- options

Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.001,
        metavar="SECONDS",
        help="Budget for the whole run, evaluation included (default: the checks' timeouts "
        "from the manifest, added).",
    ),
]
ReportPath = Annotated[
    Path | None, typer.Option("--report", metavar="PATH", help="Write the JSON report here.")
]
OverrideInput = Annotated[
    list[str] | None,
    typer.Option(
        "--override-input",
        metavar="INPUT REF",
        help="Use REF for the flake input INPUT, passed to nix (e.g. a local nixpkgs checkout; "
        "repeatable).",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Evaluate, then list what would be built and what is already built."
    ),
]
PrintBuildLogs = Annotated[
    bool,
    typer.Option(
        "--print-build-logs",
        "-L",
        help="Stream every build log line, prefixed by its check (folded per check in GitHub "
        "Actions).",
    ),
]
AllowTcg = Annotated[
    bool,
    typer.Option(
        "--allow-tcg",
        help="Run checks that need KVM without it (software emulation, several times slower).",
    ),
]


# ----------------------------------------------------------------- run commands


def _run(
    checks: list[str] | None,
    tier: str | None,
    *,
    flake: str,
    system: str | None,
    timeout: float | None,
    json_out: bool,
    junit: Path | None,
    report: Path | None,
    builders: str | None,
    store: str | None,
    option: list[str] | None,
    override_input: list[str] | None,
    allow_tcg: bool,
    dry_run: bool,
    print_build_logs: bool,
) -> None:
    """The body of `quick`, `full` and `run`: run the selected checks, exit with the verdict."""
    from vmtest import session

    with handled_errors():
        request = session.RunRequest(
            names=tuple(checks or ()),
            tier=tier,
            flake=flake,
            system=system,
            timeout=timeout,
            json_out=json_out,
            junit=junit,
            report_path=report,
            nix_opts=nix_options(builders, store, option, override_input),
            allow_tcg=allow_tcg,
            dry_run=dry_run,
            print_build_logs=print_build_logs,
        )
        code = session.run(request)
    raise typer.Exit(code)


def _tier_command(tier: str, summary: str) -> None:
    """Register `vmtest <tier>`: the tier's check (see `TIER_CHECKS`), with run's options."""

    def command(
        flake: Flake = ".",
        system: SystemOpt = None,
        timeout: Timeout = None,
        json_out: JsonOut = False,
        junit: JunitPath = None,
        report: ReportPath = None,
        builders: Builders = None,
        store: Store = None,
        option: NixOption = None,
        override_input: OverrideInput = None,
        allow_tcg: AllowTcg = False,
        dry_run: DryRun = False,
        print_build_logs: PrintBuildLogs = False,
    ) -> None:
        from vmtest.manifest import TIER_CHECKS

        _run(
            [TIER_CHECKS[tier]], None,
            flake=flake, system=system, timeout=timeout, json_out=json_out, junit=junit,
            report=report, builders=builders, store=store, option=option,
            override_input=override_input, allow_tcg=allow_tcg, dry_run=dry_run,
            print_build_logs=print_build_logs,
        )  # fmt: skip

    command.__doc__ = summary
    app.command(tier)(command)


_tier_command("quick", "Quick tier: evaluate the VM configuration and list the findings (no VM).")
_tier_command("full", "Full tier: build, boot under KVM and test the VM (vm-test-suite).")


class _NamesCommand(TyperCommand):
    """Shows a variadic argument as `CHECK...` (typer adds its type, `<list[str]>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.nargs == -1:
                shown = f"{param.metavar or param.name}..."
                param.metavar = shown
                setattr(param, "display_type_rich", lambda ctx: None)  # noqa: B010
                setattr(param, "_usage_display_name", lambda shown=shown: f"[{shown}]")  # noqa: B010


Tier = Annotated[
    str | None,
    typer.Option(
        "--tier",
        metavar="quick|full",
        help="Every check of a tier (with CHECK..., those as well).",
    ),
]


@app.command("run", cls=_NamesCommand)
def run_checks(
    checks: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CHECK",
            help="Check names or glob patterns such as 'vm-*' (see `vmtest list`).",
            show_default=False,
        ),
    ] = None,
    tier: Tier = None,
    flake: Flake = ".",
    system: SystemOpt = None,
    timeout: Timeout = None,
    json_out: JsonOut = False,
    junit: JunitPath = None,
    report: ReportPath = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
    override_input: OverrideInput = None,
    allow_tcg: AllowTcg = False,
    dry_run: DryRun = False,
    print_build_logs: PrintBuildLogs = False,
) -> None:
    """Run checks by name, glob or tier."""
    _run(**locals())
