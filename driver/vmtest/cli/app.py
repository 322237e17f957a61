"""The `vmtest` typer app: its commands registered, global options, and the entry point.

Exit codes: `vmtest.errors.EXIT_CODE_MEANINGS` (listed by `vmtest --help`). Expected
errors become one `error: ...` line (plus a hint; `vmtest.cli.handling`); `--debug`
adds tracebacks and the argv of every command run. Heavy modules are imported inside
the commands so `vmtest --help` starts fast.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from vmtest import __version__
from vmtest.cli import info, run
from vmtest.cli.handling import state
from vmtest.cli.manifest import manifest_app
from vmtest.errors import EXIT_CODE_MEANINGS


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
app.add_typer(manifest_app, name="manifest")
app.command("list")(info.list_checks)
app.command()(info.doctor)
app.command("lint-scripts")(info.lint_scripts)
app.command("report")(info.report_cmd)
app.command("quick")(run.quick)
app.command("full")(run.full)
app.command("run", cls=run.NamesCommand)(run.run_checks)


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
    state["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="debug: %(message)s", stream=sys.stderr)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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
