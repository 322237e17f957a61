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
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,  # typer's --install-completion and --show-completion
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
JunitPath = Annotated[
    Path | None, typer.Option("--junit", metavar="PATH", help="Write JUnit XML here.")
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


def _pairs(flag: str, items: list[str] | None) -> tuple[tuple[str, str], ...]:
    """`NAME=VALUE` items (see `join_option_pairs`) as pairs; a value may contain `=`."""
    pairs: list[tuple[str, str]] = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            two = (
                "INPUT REF or INPUT=REF"
                if flag == "--override-input"
                else "NAME VALUE or NAME=VALUE"
            )
            raise BadInput(f"{flag} expects {two}, got {item!r}")
        pairs.append((name, value))
    return tuple(pairs)


def nix_options(
    builders: str | None,
    store: str | None,
    option: list[str] | None,
    override_input: list[str] | None = None,
) -> NixOptions:
    from vmtest.nixargv import NixOptions

    return NixOptions(
        builders=builders,
        store=store,
        options=_pairs("--option", option),
        override_inputs=_pairs("--override-input", override_input),
    )


def load_manifest(
    flake: str,
    system: str | None,
    builders: str | None,
    store: str | None,
    option: list[str] | None,
    override_input: list[str] | None = None,
) -> tuple[Manifest, str]:
    """The flake's validated manifest and the system it was checked for."""
    from vmtest import nix, selection

    opts = nix_options(builders, store, option, override_input)
    system_ = system or nix.info(opts)[1]
    return selection.load_manifest(flake, system_, opts), system_


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# The run and the information commands live in their own modules and register on `app`
# on import.
from vmtest import cli_info, cli_run  # noqa: F401

#: Options that take two values, joined into `NAME=VALUE` before typer parses them.
_PAIR_OPTIONS = ("--option", "--override-input")


def join_option_pairs(args: list[str]) -> list[str]:
    """Accept nix's own `--option NAME VALUE` (and `--override-input INPUT REF`) as well
    as `NAME=VALUE`; and `--debug` after the subcommand as well as before it."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out += args[i:]
            break
        if arg in _PAIR_OPTIONS and i + 2 < len(args) and "=" not in args[i + 1]:
            out += [arg, f"{args[i + 1]}={args[i + 2]}"]
            i += 3
            continue
        out.append(arg)
        i += 1
    if "--debug" in out[1 : out.index("--") if "--" in out else len(out)]:
        out.remove("--debug")
        out.insert(0, "--debug")
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
