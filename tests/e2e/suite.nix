# The full-tier suite as plain data, builtins only (no nixpkgs, no NixOS evaluation),
# so the manifest and `nix flake show` stay instant and offline.
#
# One source of truth: suite.json lists the checks; each check's subtest names are read
# from its script with the regex below; the booted scripts are composed into the one
# driver script here. driver/vmtest/scriptlint.py composes the same text in Python, and
# tests/driver/test_e2e_suite.py proves that both agree (subtests via `ast`, text exactly).
let
  suite = builtins.fromJSON (builtins.readFile ./suite.json);
  strings = builtins.filter builtins.isString;
  readScript = check: builtins.readFile (./. + "/${check.script}");

  # `subtest("name")` calls, in order. Scripts keep names as plain double-quoted literals
  # (scriptlint enforces one string literal per subtest call).
  subtestNames =
    text: map builtins.head (builtins.filter builtins.isList (builtins.split ''subtest\("([^"]*)"\)'' text));

  endsWithNewline = text: text != "" && builtins.substring (builtins.stringLength text - 1) 1 text == "\n";
  withNewline = text: if endsWithNewline text then text else text + "\n";

  # Four spaces before every non-empty line (the scripts contain no multi-line strings).
  indent =
    text:
    builtins.concatStringsSep "\n" (
      map (line: if line == "" then "" else "    " + line) (strings (builtins.split "\n" text))
    );

  checks = map (check: check // { subtests = subtestNames (readScript check); }) suite.checks;
  bootChecks = builtins.filter (check: check.kind == "boot") checks;

  manifestEntry = check: {
    inherit (check)
      name
      requiresKvm
      timeoutSeconds
      description
      subtests
      ;
    attr = "checks.x86_64-linux.${check.name}";
    tier = "full";
    systems = [ "x86_64-linux" ];
  };
in
{
  inherit (suite) nodes;
  inherit checks bootChecks;
  suiteName = suite.suite.name;

  # The booted checks' one test script, before nixos-vm-test.nix fills in the facts:
  # the runner, then each script in suite.json order under `with vmtest_case(...)`.
  composedScriptTemplate =
    withNewline (builtins.readFile ./runner/prelude.py)
    + builtins.concatStringsSep "" (
      map (check: "with vmtest_case(\"${check.name}\"):\n" + withNewline (indent (readScript check))) bootChecks
    );

  # Seven entries; vm-test-suite's subtests are the union of the six checks' subtests
  # (names are unique across the suite, so each still says which check it belongs to).
  manifestEntries =
    map manifestEntry checks
    ++ [
      (manifestEntry (
        suite.suite
        // {
          subtests = builtins.concatMap (check: check.subtests) checks;
        }
      ))
    ];
}
