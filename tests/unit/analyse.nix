# The quick tier's findings for one configuration's data (./extract.nix):
# the rules of ./rules.nix, judged only as far as NixOS gets.
#
# While a NixOS assertion fails, NixOS stops there ("Failed assertions: ...",
# nixos/modules/system/activation/top-level.nix) and reads nothing else, and
# neither does ./extract.nix: only the rules on evaluation itself (assertions,
# warnings, instantiation) run. The other rules would judge a configuration
# NixOS refuses, with values its assertions rule out (no file system on "/":
# the initrd's assertion says so, the root-filesystem rule does not repeat it).
# Fixture data with no failed assertion is judged by every rule.
# Builtins only.
data:
let
  r = import ./rules.nix;
  failedAssertions = builtins.filter (a: !a.assertion) (data.assertions or [ ]);
  evaluationRules = [
    "nixos-assertions"
    "nixos-warnings"
    "system-instantiates"
  ];
  judged =
    if failedAssertions == [ ] then
      r.rules
    else
      builtins.filter (rule: builtins.elem rule.id evaluationRules) r.rules;
in
builtins.concatMap (rule: rule.check data) judged
