"""What a failed nix command says about the environment rather than the flake.

Each `raise_if_*` reads a finished command's stderr (plain or internal-json) and raises
the `VmtestError` the user has to act on: flakes off, a `--store` or builder nix cannot
reach (no `ssh` included), a source evaluation cannot fetch (exit 3, README's
"environment not ready"), an `--override-input` naming no input of the flake (exit 2,
bad usage). Wordings are Nix's, as seen here on Nix 2.8 and 2.26 (quoted below).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence

from vmtest.errors import BadInput, EnvironmentNotReady
from vmtest.nix import messages
from vmtest.nix.process import Completed
from vmtest.text import strip_ansi

_EXPERIMENTAL_RE = re.compile(r"experimental Nix feature '([a-z-]+)' is disabled")
# A download or fetch that failed for reasons outside the flake (network, proxy, cache).
# Nix 2.8: "error: unable to download '<url>': Couldn't connect to server (7)"; "...:
# Couldn't resolve host name (6)" (NixOS/nix#8953); git: "fatal: unable to access '<url>':
# Could not resolve host: <host>". Nix 2.26: "Failed to open archive (Source threw
# exception: error: unable to download '<url>': Could not connect to server (7) ...)".
_FETCH_FAILED_RE = re.compile(
    r"unable to download|unable to fetch|unable to access '|"
    r"Could(?:n't| not) resolve (?:host|proxy)|Could(?:n't| not) connect to server|"
    r"Failed to connect",
    re.IGNORECASE,
)
# Any fetch that failed, newer Nix: "… while fetching the input '<ref>'" in the trace
# (Nix 2.26: "error: path '//nonexistent/x' does not exist" for a missing path: input).
_FETCHING_RE = re.compile(r"… while fetching the input '")
# Nix 2.8, a path: input that does not exist (evaluation itself only reads store paths).
_NO_SUCH_PATH_RE = re.compile(r"getting status of '(?!/nix/store/)[^']*': No such file")

# A store or remote builder nix cannot reach. Nix 2.8: "cannot open connection to remote
# store 'ssh-ng://h': error: unexpected end-of-file" after ssh's own "ssh: Could not
# resolve hostname h: ..." line. Nix 2.26: "failed to start SSH connection to 'h'".
# Builders: "cannot build on 'ssh://h': error: cannot connect to 'h': ssh: ..." (2.8),
# "cannot build on 'ssh://h': error: failed to start SSH connection to 'h': ssh: ..."
# (2.26), then "unable to start any build" (2.8) or "Unable to start any build" (2.26).
_STORE_UNREACHABLE_RE = re.compile(r"cannot open connection to remote store '(?P<url>[^']+)'")
_SSH_FAILED_RE = re.compile(r"failed to start SSH connection to '[^']+'")
_BUILDER_UNREACHABLE_RE = re.compile(r"cannot build on '(?P<url>[^']+)': (?P<why>.*)")
_NO_BUILD_RE = re.compile(r"unable to start any build", re.IGNORECASE)
_SSH_SAID_RE = re.compile(r"^ssh: .*|^.*(?:Permission denied|Connection refused|timed out).*$")
# No ssh on PATH: "unable to execute 'ssh': No such file or directory" (2.8), "Could not
# find executable 'ssh'" (2.26).
_NO_SSH_RE = re.compile(r"(?:unable to execute|Could not find executable) 'ssh'.*")
REMOTE_HINT = (
    "check that the host is up and that `ssh HOST` logs in without a password prompt (nix "
    "connects non-interactively, as root when the nix-daemon builds); see README.md, "
    '"Remote builders"'
)
NO_SSH_HINT = (
    "install an OpenSSH client (Debian/Ubuntu: apt-get install openssh-client): nix runs "
    "`ssh` to reach a remote store or builder"
)
FLAKES_HINT = (
    'enable them: add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf '
    '(or export NIX_CONFIG="experimental-features = nix-command flakes")'
)
FETCH_HINT = (
    "check the network (and proxy) or the substituters (nix settings: --option NAME VALUE), "
    "or use a local copy: --override-input INPUT path:/a/checkout"
)


def raise_if_environment(done: Completed) -> None:
    """Turn "experimental feature disabled" and an unreachable store or builder into
    exit 3 with the fix."""
    if done.returncode == 0:
        return
    said = error_messages(done.stderr_tail)
    for message in said:
        match = _EXPERIMENTAL_RE.search(message)
        if match:
            raise EnvironmentNotReady(
                f"Nix flakes are disabled (experimental feature '{match.group(1)}' is off)",
                hint=FLAKES_HINT,
            )
    _raise_if_unreachable(said, _store_of(done.argv))


def _store_of(argv: Sequence[str]) -> str | None:
    """The `--store` an argv names, when nix reaches it over SSH."""
    store = next((b for a, b in itertools.pairwise(argv) if a == "--store"), None)
    return store if store and store.startswith(("ssh://", "ssh-ng://")) else None


def _raise_if_unreachable(said: Sequence[str], store: str | None) -> None:
    """A `--store` nix cannot open, or remote builders none of which it could reach."""
    lines = [line.strip() for m in said for line in m.splitlines()]
    no_ssh = next((m[0] for line in lines if (m := _NO_SSH_RE.search(line))), None)
    why = no_ssh or next((line for line in lines if _SSH_SAID_RE.match(line)), None)
    hint = NO_SSH_HINT if no_ssh else REMOTE_HINT
    builders = [m for m in said if _BUILDER_UNREACHABLE_RE.search(m)]
    if builders and any(_NO_BUILD_RE.search(m) for m in said):
        m = _BUILDER_UNREACHABLE_RE.search(builders[0])
        assert m is not None
        because = no_ssh or m["why"].removeprefix("error:").strip()
        raise EnvironmentNotReady(f"cannot reach the builder {m['url']}: {because}", hint)
    for message in said:
        if builders:
            break
        if m := _STORE_UNREACHABLE_RE.search(message):
            because = why or messages.reason(message.split(": ", 1)[-1])
            raise EnvironmentNotReady(f"cannot reach the store {m['url']}: {because}", hint)
        if store and (_SSH_FAILED_RE.search(message) or _NO_SSH_RE.search(message)):
            because = why or messages.reason(message)
            raise EnvironmentNotReady(f"cannot reach the store {store}: {because}", hint)


# Nix only warns, and goes on with the locked input (Nix 2.8 and 2.26, seen here:
# "warning: the flag '--override-input nosuch path:/tmp' does not match any input").
_OVERRIDE_UNMATCHED_RE = re.compile(
    r"the flag '--override-input (?P<input>\S+)[^']*' does not match any input"
)


def raise_if_unmatched_override(done: Completed) -> None:
    """An `--override-input` naming no input of the flake is bad usage (exit 2), not a
    warning to scroll past: the run would test the locked input instead."""
    for line in done.stderr_tail:
        if m := _OVERRIDE_UNMATCHED_RE.search(strip_ansi(line)):
            raise BadInput(
                f"--override-input {m['input']}: the flake has no input named {m['input']}",
                hint="`nix flake metadata` lists its inputs",
            )


def raise_if_unfetchable(done: Completed) -> None:
    """An evaluation that failed because a source could not be fetched (a dead network,
    a `path:` input or override that does not exist) is exit 3 with a hint, not a check
    failure. Only for evaluations: a build's log lines are the builders' own output (a
    VM test may print "Could not resolve host" on purpose)."""
    if done.returncode == 0:
        return
    text = "\n".join(error_messages(done.stderr_tail))
    # The line that says it, also when newer Nix puts "… while fetching" lines first.
    said = next((ln for ln in reversed(text.splitlines()) if _FETCH_FAILED_RE.search(ln)), None)
    if said is None and (_FETCHING_RE.search(text) or _NO_SUCH_PATH_RE.search(text)):
        said = messages.reason(text)
    if said is not None:
        raise EnvironmentNotReady(
            "nix could not fetch a source the evaluation needs (a flake input?): "
            + said.strip().removeprefix("error:").strip(),
            hint=FETCH_HINT,
        )


def error_messages(stderr_lines: Sequence[str]) -> list[str]:
    """Nix's error messages (ANSI stripped) in stderr, plain or internal-json: every plain
    line (`error: ...`, git's `fatal: ...`), and the level-0 JSON messages that are not a
    builder's failure (whose text quotes the builder's own log)."""
    found: list[str] = []
    for raw in stderr_lines:
        line = strip_ansi(raw)
        if not line.startswith("@nix {"):
            found.append(line)
            continue
        try:
            obj = json.loads(line[5:])
        except ValueError:
            continue
        if not isinstance(obj, dict) or obj.get("action") != "msg" or obj.get("level") != 0:
            continue
        text = strip_ansi(str(obj.get("msg") or ""))
        if messages.builder_failure(text) is None:
            found.append(text)
    return found
