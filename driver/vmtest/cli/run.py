"""The run commands of `vmtest`: quick, full and run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from vmtest.cli.handling import handled_errors
from vmtest.cli.options import (
    AllowTcg,
    Builders,
    DryRun,
    Flake,
    JsonOut,
    JunitPath,
    NixOption,
    OverrideInput,
    PrintBuildLogs,
    ReportPath,
    Store,
    SystemOpt,
    Tier,
    Timeout,
)


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
    """The body of `quick`, `full` and `run`: run the selected checks, exit with the run's exit code."""
    from vmtest import session
    from vmtest.nix.argv import NixOptions

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
            nix_opts=NixOptions.from_cli(builders, store, option, override_input),
            allow_tcg=allow_tcg,
            dry_run=dry_run,
            print_build_logs=print_build_logs,
            command=tuple(sys.argv[1:]),
        )
        code = session.run(request)
    raise typer.Exit(code)


def tier_command(tier: str, summary: str) -> Callable[..., None]:
    """`vmtest <tier>`: the tier's check (see `TIER_CHECKS`), with run's options."""

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
        from vmtest.checks.manifest import TIER_CHECKS

        _run(
            [TIER_CHECKS[tier]], None,
            flake=flake, system=system, timeout=timeout, json_out=json_out, junit=junit,
            report=report, builders=builders, store=store, option=option,
            override_input=override_input, allow_tcg=allow_tcg, dry_run=dry_run,
            print_build_logs=print_build_logs,
        )  # fmt: skip

    command.__doc__ = summary
    return command


quick = tier_command(
    "quick", "Quick tier: evaluate the VM configuration and list the findings (no VM)."
)
full = tier_command("full", "Full tier: build, boot under KVM and test the VM (vm-test-suite).")


class NamesCommand(TyperCommand):
    """Shows a variadic argument as `CHECK...` (typer adds its type, `<list[str]>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.nargs == -1:
                shown = f"{param.metavar or param.name}..."
                param.metavar = shown
                setattr(param, "display_type_rich", lambda ctx: None)  # noqa: B010
                setattr(param, "_usage_display_name", lambda shown=shown: f"[{shown}]")  # noqa: B010


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
