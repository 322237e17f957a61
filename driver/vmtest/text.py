"""Text helpers every layer shares: ANSI escapes out of Nix's and the driver's output."""

from __future__ import annotations

import re

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor moves) and carriage returns."""
    if "\x1b" in text:
        text = _ANSI_RE.sub("", text)
    return text.replace("\r", "") if "\r" in text else text
