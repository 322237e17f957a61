# The quick tier's manifest entry (schema: nix/manifest.nix). Builtins only;
# the subtests are the rule ids of ./rules.nix, so the rules file is the one
# source of truth, and a finding's `rule:` line names its subtest.
[
  {
    name = "unit-vm-analysis";
    attr = "checks.{system}.unit-vm-analysis";
    tier = "quick";
    systems = [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ];
    requiresKvm = false;
    timeoutSeconds = 30;
    description = "Evaluates nixosConfigurations.vm and vm-aarch64 (no VM build, no boot) and checks Docker, OpenSSH and its hardening, users, sudo, firewall, boot, platform, stateVersion, NixOS assertions and warnings, and that the system derivation instantiates";
    subtests = (import ./rules.nix).ruleIds;
  }
]
