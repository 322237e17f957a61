"""The setup-nix action's `log-lines` shows a failing VM test's reason in the Actions log.

Nix prints only the last `log-lines` lines of a failed build. A failing booted check,
built with the real nix against the stand-in nixpkgs, must end in fewer lines than that,
counted from the driver's own failure line to the end of its log.
"""

from __future__ import annotations

import re

import yaml
from nixeval import REPO
from test_e2e_nix_pipeline import build, stub_expr

ACTION = REPO / ".github/actions/setup-nix/action.yml"


def configured_log_lines() -> int:
    action = yaml.safe_load(ACTION.read_text())
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install Nix")
    match = re.search(r"^log-lines = (\d+)$", install["with"]["extra_nix_config"], re.MULTILINE)
    assert match, "the action does not set log-lines"
    return int(match[1])


def test_a_failing_checks_reason_fits_in_the_log_lines_ci_shows() -> None:
    output = "\\n".join(f"line {n}" for n in range(40))  # more than the 15 kept
    expr = stub_expr(answers=f'[ [ "^id -nG alice$" 1 "{output}" ] ]')
    proc = build(expr, "checks.vm-service-test")
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith('!!! Test "'))
    last = next(i for i, line in enumerate(lines) if "failed with exit code" in line)
    reason = lines[first:last]
    assert reason[-1] == "vmtest:   line 39"
    assert "vmtest:   line 24" not in reason  # only the command's last 15 output lines
    # The stand-in's driver prints less cleanup than nixpkgs' (VLAN and QEMU shutdown
    # lines): keep 40 lines of room for them.
    assert len(reason) + 40 <= configured_log_lines()
