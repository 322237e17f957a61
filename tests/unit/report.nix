# Renders the quick tier's findings in the format shared with the Python CLI
# (see the "Quick-tier output format" contract):
#
#   error: VM configuration has issues:
#     - <message>
#         rule: <id>
#         option: <option>
#         fix: <fix>
#   warning: VM configuration has warnings:
#     - ...
#   unit-vm-analysis: 2 issues (docker-enabled, state-version), 1 warning (nixos-warnings)
#   full list: nix log .#checks.x86_64-linux.unit-vm-analysis (or vmtest quick)
#
# The last two lines are a summary for plain `nix build`, which shows only the
# last `log-lines` (10 by default) lines of a failed build: however many
# findings there are, those lines still say how many, which rules, and how to
# see them all.
#
# `analyses` is a list of `{ name; findings; }`, one per analysed
# configuration. A finding that every analysed configuration has is listed
# once, as is; a finding that only some of them have is listed once per
# configuration with the message prefixed by "[<name>] " (the CLI's parser
# reads that prefix into the finding's config).
# Builtins only.
{
  ruleCount,
  analyses,
  # The command that prints the whole failing log.
  logCommand,
}:
let
  l = import ./lib.nix;
  names = map (a: a.name) analyses;

  # Multi-line NixOS messages would break the line format: fold to one line.
  # A NixOS warning or assertion message may interpolate a store path (e.g.
  # "${pkgs.foo}"); its string context would make the check's derivation
  # depend on that path, so the quick tier would build Linux packages (on
  # macOS: fail to). The report is text only: drop the context explicitly
  # (builtins.match below happens to drop it too, but that is not promised).
  oneLine =
    s:
    let
      flat = builtins.replaceStrings [ "\r\n" "\n" "\t" ] [ " " " " " " ] (
        builtins.unsafeDiscardStringContext (toString s)
      );
      m = builtins.match "[ ]*(.*[^ ])[ ]*" flat;
    in
    if m == null then "" else builtins.head m;

  keyOf = f: builtins.concatStringsSep "\n" [
    f.severity
    f.id
    f.option
    f.message
    f.fix
  ];

  tagged = builtins.concatMap (a: map (f: f // { config = a.name; }) a.findings) analyses;
  keys = l.unique (map keyOf tagged);
  merged = builtins.concatMap (
    k:
    let
      same = builtins.filter (f: keyOf f == k) tagged;
      f = builtins.head same;
      where = l.unique (map (x: x.config) same);
      item = prefix: {
        inherit (f) id severity;
        option = oneLine f.option;
        fix = oneLine f.fix;
        message = prefix + oneLine f.message;
      };
    in
    if builtins.length where == builtins.length names then
      [ (item "") ]
    else
      map (c: item "[${c}] ") where
  ) keys;

  errors = builtins.filter (f: f.severity == "error") merged;
  warnings = builtins.filter (f: f.severity != "error") merged;

  item = f: ''
    ${"  "}- ${f.message}
    ${"      "}rule: ${f.id}
    ${"      "}option: ${f.option}
    ${"      "}fix: ${f.fix}
  '';
  block = header: fs: if fs == [ ] then "" else header + "\n" + builtins.concatStringsSep "" (map item fs);

  errorBlock = block "error: VM configuration has issues:" errors;
  warningBlock = block "warning: VM configuration has warnings:" warnings;

  count =
    word: fs:
    "${toString (builtins.length fs)} ${word}${if builtins.length fs == 1 then "" else "s"} (${
      builtins.concatStringsSep ", " (l.unique (map (f: f.id) fs))
    })";
  summary =
    "unit-vm-analysis: ${count "issue" errors}"
    + (if warnings == [ ] then "" else ", ${count "warning" warnings}")
    + "\nfull list: ${logCommand} (or vmtest quick)\n";
in
{
  inherit errors warnings;
  failed = errors != [ ];
  # What the failing build prints.
  failureText = errorBlock + warningBlock + summary;
  # What a passing build writes to $out.
  successText =
    "vm-analysis: OK (${toString ruleCount} rules, ${toString (builtins.length warnings)} warnings) for ${builtins.concatStringsSep ", " names}\n"
    + warningBlock;
}
