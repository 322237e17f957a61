"""Text helpers every layer shares: ANSI escapes out of Nix's and the driver's output;
counted nouns and articles said right (`1 check`, `an aarch64-linux machine`)."""

from __future__ import annotations

import re

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor moves) and carriage returns."""
    if "\x1b" in text:
        text = _ANSI_RE.sub("", text)
    return text.replace("\r", "") if "\r" in text else text


def plural(count: int, noun: str) -> str:
    """`1 check`, `2 checks` (nouns that take an `s`)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def article(word: str) -> str:
    """`a` or `an` for `word` as it is read aloud: `an aarch64-linux`, `an x86_64-linux`
    (ex-eighty-six), `a riscv64-linux`."""
    return "an" if word[:1].lower() in "aeiox" else "a"


def os_reason(exc: OSError) -> str:
    """The system's reason in words (`read-only file system`), not `[Errno 30] ...`."""
    reason = exc.strerror or type(exc).__name__
    return reason[:1].lower() + reason[1:]
