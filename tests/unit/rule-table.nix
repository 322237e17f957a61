# The README's "Analysis rules" table, generated from ./rules.nix so the two
# cannot drift (tests/driver/test_analysis_rules.py compares them):
#
#   nix eval --raw -f tests/unit/rule-table.nix
let
  inherit (import ./rules.nix) rules;
  # `|` would end the cell; `<name>` would be read as an HTML tag.
  cell =
    s:
    builtins.replaceStrings
      [ "|" "<" ">" ]
      [ "\\|" "&lt;" "&gt;" ]
      s;
  row = r: "| `${r.id}` | ${cell r.title} | ${r.severity} | ${cell r.fix} |\n";
in
"| rule | what it checks | severity | fix |\n|---|---|---|---|\n"
+ builtins.concatStringsSep "" (map row rules)
