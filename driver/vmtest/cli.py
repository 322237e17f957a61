"""The `vmtest` command line (typer only: parse, call, map errors to exit codes).

Exit codes: `vmtest.errors.EXIT_CODE_MEANINGS` (listed by `vmtest --help`). Expected
errors become one `error: ...` line (plus a hint); `--debug` adds tracebacks and the
argv of every command run. Heavy modules are imported inside the commands so
`vmtest --help` starts fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vmtest import __version__
from vmtest.errors import EXIT_CODE_MEANINGS, BadInput, ExitCode, VmtestError

if TYPE_CHECKING:
    from vmtest.manifest import Manifest
    from vmtest.nixargv import NixOptions


def _exit_codes_epilog() -> str:
    """The exit codes, one per row (a "\\b" line keeps click from re-wrapping them)."""
    import textwrap

    rows = [
        textwrap.fill(meaning, 78, initial_indent=f"  {int(code):<4} ", subsequent_indent=" " * 7)
        for code, meaning in EXIT_CODE_MEANINGS.items()
    ]
    return "\b\nExit codes:\n" + "\n".join(rows)


app = typer.Typer(
    name="vmtest",
    help="Select, run and report the NixOS VM test checks of a flake.",
    epilog=_exit_codes_epilog(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
manifest_app = typer.Typer(help="Show, validate or describe the flake's vmtestManifest.")
app.add_typer(manifest_app, name="manifest")

_state = {"debug": False}

# ----------------------------------------------------------------- options

Flake = Annotated[str, typer.Option("--flake", "-f", metavar="REF", help="Flake reference.")]
SystemOpt = Annotated[
    str | None,
    typer.Option("--system", metavar="SYSTEM", help="Nix system (default: the current one)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.001,
        metavar="SECONDS",
        help="Budget for the whole run (default: the checks' timeouts from the manifest, added).",
    ),
]
JunitPath = Annotated[
    Path | None, typer.Option("--junit", metavar="PATH", help="Write JUnit XML here.")
]
ReportPath = Annotated[
    Path | None, typer.Option("--report", metavar="PATH", help="Write the JSON report here.")
]
Builders = Annotated[
    str | None,
    typer.Option("--builders", metavar="SPEC", help="Remote builders, passed to nix."),
]
Store = Annotated[
    str | None,
    typer.Option("--store", metavar="URL", help="Store (e.g. ssh-ng://host), passed to nix."),
]
NixOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        metavar="NAME VALUE",
        help="A nix setting, passed to nix as --option (also NAME=VALUE; repeatable).",
    ),
]
AllowTcg = Annotated[
    bool,
    typer.Option(
        "--allow-tcg",
        help="Run checks that need KVM without it (software emulation, several times slower).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmtest {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="VMTEST_DEBUG", help="Tracebacks and every command's argv."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    _state["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="debug: %(message)s", stream=sys.stderr)


@contextmanager
def handled_errors() -> Iterator[None]:
    """Map expected errors to one line and their exit code."""
    try:
        yield
    except VmtestError as exc:
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  hint: {exc.hint}", err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:  # outside a run (a run reports it and exits 130 itself)
        typer.echo("interrupted", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def nix_options(builders: str | None, store: str | None, option: list[str] | None) -> NixOptions:
    from vmtest.nixargv import NixOptions

    pairs: list[tuple[str, str]] = []
    for item in option or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadInput(f"--option expects NAME VALUE or NAME=VALUE, got {item!r}")
        pairs.append((name, value))
    return NixOptions(builders=builders, store=store, options=tuple(pairs))


def load_manifest(
    flake: str,
    system: str | None,
    builders: str | None,
    store: str | None,
    option: list[str] | None,
) -> tuple[Manifest, str]:
    """The flake's validated manifest and the system it was checked for."""
    from vmtest import nix, selection

    opts = nix_options(builders, store, option)
    system_ = system or nix.info(opts)[1]
    return selection.load_manifest(flake, system_, opts), system_


# ----------------------------------------------------------------- run commands


def _run(
    names: list[str],
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
    allow_tcg: bool,
) -> None:
    """The body of `quick`, `full` and `run`: run the named checks, exit with the verdict."""
    from vmtest import session

    with handled_errors():
        request = session.RunRequest(
            names=tuple(names),
            flake=flake,
            system=system,
            timeout=timeout,
            json_out=json_out,
            junit=junit,
            report_path=report,
            nix_opts=nix_options(builders, store, option),
            allow_tcg=allow_tcg,
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
        allow_tcg: AllowTcg = False,
    ) -> None:
        from vmtest.manifest import TIER_CHECKS

        _run(
            [TIER_CHECKS[tier]],
            flake=flake, system=system, timeout=timeout, json_out=json_out, junit=junit,
            report=report, builders=builders, store=store, option=option, allow_tcg=allow_tcg,
        )  # fmt: skip

    command.__doc__ = summary
    app.command(tier)(command)


_tier_command("quick", "Quick tier: evaluate the VM configuration and list the findings (no VM).")
_tier_command("full", "Full tier: build, boot under KVM and test the VM (vm-test-suite).")


@app.command("run")
def run_checks(
    checks: Annotated[
        list[str], typer.Argument(metavar="CHECK", help="Check names (see `vmtest list`).")
    ],
    flake: Flake = ".",
    system: SystemOpt = None,
    timeout: Timeout = None,
    json_out: JsonOut = False,
    junit: JunitPath = None,
    report: ReportPath = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
    allow_tcg: AllowTcg = False,
) -> None:
    """Run any checks by name."""
    _run(
        checks,
        flake=flake, system=system, timeout=timeout, json_out=json_out, junit=junit,
        report=report, builders=builders, store=store, option=option, allow_tcg=allow_tcg,
    )  # fmt: skip


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# The information commands live in their own module and register on `app` on import.
from vmtest import cli_info  # noqa: F401


def join_option_pairs(args: list[str]) -> list[str]:
    """Accept nix's own `--option NAME VALUE` as well as `--option NAME=VALUE`."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return out + args[i:]
        if arg == "--option" and i + 2 < len(args) and "=" not in args[i + 1]:
            out += [arg, f"{args[i + 1]}={args[i + 2]}"]
            i += 3
            continue
        out.append(arg)
        i += 1
    return out


def main() -> None:
    """Console-script entry point."""
    import signal

    # Ctrl-C, SIGTERM (CI cancellation) and SIGHUP (terminal closed) all stop the run
    # cleanly: nix runs in its own session, so vmtest stops its process group and writes
    # the partial report. SIGINT is reset because shells start background jobs ignoring it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # respect nohup
        signal.signal(signal.SIGHUP, _terminate)
    app(args=join_option_pairs(sys.argv[1:]))
