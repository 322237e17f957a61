"""The quick-tier findings parser against the exact format tests/unit/report.nix writes."""

from __future__ import annotations

from vmtest.report.findings import (
    AnalysisSummary,
    findings_lines,
    outside_findings,
    parse_findings,
    parse_summary,
)
from vmtest.report.model import Finding

# Verbatim shape of tests/unit/report.nix's output (the spec's seed wording plus rule, option, fix).
REPORT_NIX_EXAMPLE = """\
error: VM configuration has issues:
  - Docker service not properly configured
      rule: docker-enabled
      option: virtualisation.docker.enable
      fix: set virtualisation.docker.enable = true;
warning: VM configuration has warnings:
  - sshd allows password authentication
      rule: ssh-password-auth
      option: services.openssh.settings.PasswordAuthentication
      fix: set services.openssh.settings.PasswordAuthentication = false;
"""

DOCKER = Finding(
    id="docker-enabled",
    severity="error",
    option="virtualisation.docker.enable",
    message="Docker service not properly configured",
    fix="set virtualisation.docker.enable = true;",
)
PASSWORD = Finding(
    id="ssh-password-auth",
    severity="warning",
    option="services.openssh.settings.PasswordAuthentication",
    message="sshd allows password authentication",
    fix="set services.openssh.settings.PasswordAuthentication = false;",
)


def test_exact_common_md_format() -> None:
    assert parse_findings(REPORT_NIX_EXAMPLE) == [DOCKER, PASSWORD]


def test_no_blocks_no_findings() -> None:
    assert parse_findings("") == []
    assert parse_findings("vm-analysis: OK (12 rules, 0 warnings) for vm\n") == []


def test_warning_block_alone() -> None:
    text = REPORT_NIX_EXAMPLE.split("warning:", 1)[1]
    assert parse_findings("warning:" + text) == [PASSWORD]


def test_surrounding_log_noise_and_colours() -> None:
    text = (
        "building '/nix/store/x-unit-vm-analysis.drv'...\n"
        "\x1b[31;1merror:\x1b[0m VM configuration has issues:\n"
        + "\n".join(REPORT_NIX_EXAMPLE.splitlines()[1:5])
        + "\nFor full logs, run 'nix log /nix/store/x.drv'.\n"
        "  - an item after noise is not part of the block\n"
        "      rule: nope\n"
    )
    assert parse_findings(text) == [DOCKER]


def test_nix_log_prefix_on_every_line() -> None:
    prefixed = "".join(f"unit-vm-analysis> {line}\n" for line in REPORT_NIX_EXAMPLE.splitlines())
    other = "other-drv> error: VM configuration has issues:\nunit-vm-analysis>   - stray\n"
    assert parse_findings(prefixed + other) == [DOCKER, PASSWORD]


def test_several_errors_keep_their_order() -> None:
    text = (
        "error: VM configuration has issues:\n"
        "  - First\n      rule: a\n      option: o.a\n      fix: fa\n"
        "  - Second\n      rule: b\n      option: o.b\n      fix: fb: with a colon\n"
    )
    found = parse_findings(text)
    assert [(f.id, f.message, f.fix) for f in found] == [
        ("a", "First", "fa"),
        ("b", "Second", "fb: with a colon"),
    ]
    assert all(f.severity == "error" for f in found)


def test_configuration_names_for_multi_config_analysis() -> None:
    text = (
        "error: VM configuration has issues:\n"
        "  - [vm-aarch64] Missing required package: openssh\n"
        "      rule: openssh-package\n      option: services.openssh.package\n"
        "      fix: set services.openssh.enable = true;\n"
        "  - Docker service not properly configured\n"
        "      rule: docker-enabled\n      option: virtualisation.docker.enable\n"
        "      fix: set virtualisation.docker.enable = true;\n"
        "      config: vm\n"
    )
    found = parse_findings(text)
    assert [(f.config, f.message) for f in found] == [
        ("vm-aarch64", "Missing required package: openssh"),
        ("vm", "Docker service not properly configured"),
    ]


def test_missing_keys_leave_empty_fields_rather_than_dropping_the_error() -> None:
    found = parse_findings("error: VM configuration has issues:\n  - Something is wrong\n")
    assert found == [
        Finding(id="", severity="error", option="", message="Something is wrong", fix="")
    ]


def test_success_summary_line() -> None:
    text = "noise\nvm-analysis: OK (12 rules, 1 warnings) for vm, vm-aarch64\nwarning: ..."
    assert parse_summary(text) == AnalysisSummary(12, 1, ("vm", "vm-aarch64"))
    assert parse_summary("vm-analysis: OK (1 rule, 0 warnings) for vm") == AnalysisSummary(
        1, 0, ("vm",)
    )
    assert parse_summary(REPORT_NIX_EXAMPLE) is None


def test_written_findings_are_the_common_md_text_and_parse_back() -> None:
    text = "\n".join(findings_lines([PASSWORD, DOCKER])) + "\n"  # errors first
    assert text == REPORT_NIX_EXAMPLE
    assert parse_findings(text) == [DOCKER, PASSWORD]
    # ... and are not repeated as a log tail beside the parsed findings.
    assert outside_findings([*text.splitlines(), "other line"]) == ["other line"]


def test_the_summary_lines_after_the_blocks_are_not_findings() -> None:
    # tests/unit/report.nix ends a failing log with a summary for plain `nix build`.
    text = (
        REPORT_NIX_EXAMPLE
        + "unit-vm-analysis: 1 issue (docker-enabled), 1 warning (ssh-password-auth)\n"
        + "full list: nix log .#checks.x86_64-linux.unit-vm-analysis (or vmtest quick)\n"
    )
    assert parse_findings(text) == [DOCKER, PASSWORD]
    # ... and are not repeated as a log tail beside the parsed findings.
    assert outside_findings([*text.splitlines(), "other line"]) == ["other line"]
