# Tiny builtins-only helpers for the quick-tier rules. No nixpkgs: the rules
# and this file must evaluate offline (pytest runs them with the real `nix`).
rec {
  # `attrs.a.b.c or default` for a path given as a list of names.
  get =
    path: default: attrs:
    if path == [ ] then
      attrs
    else if builtins.isAttrs attrs && attrs ? ${builtins.head path} then
      get (builtins.tail path) default attrs.${builtins.head path}
    else
      default;

  # A finding, the unit of the quick tier's output.
  finding =
    {
      id,
      severity,
      option,
      message,
      fix,
    }:
    {
      inherit
        id
        severity
        option
        message
        fix
        ;
    };

  # One finding when `cond` holds, none otherwise.
  when = cond: f: if cond then [ (finding f) ] else [ ];

  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;

  # Quote a string the way the `fix` lines show Nix values.
  quote = s: "\"${s}\"";

  # Recursive update, right wins; packages (type = "derivation") are values, not trees.
  update =
    a: b:
    if builtins.isAttrs a && builtins.isAttrs b && (b.type or null) != "derivation" then
      a // builtins.mapAttrs (n: v: if a ? ${n} then update a.${n} v else v) b
    else
      b;

  last = xs: builtins.elemAt xs (builtins.length xs - 1);

  # map with the index: imap (i: x: ...) xs, i from 0.
  imap = f: xs: builtins.genList (i: f i (builtins.elemAt xs i)) (builtins.length xs);

  # Split on one character: splitOn ":" "ALL:ALL" = [ "ALL" "ALL" ].
  splitOn = c: s: builtins.filter builtins.isString (builtins.split "[${c}]" s);

  # Without leading and trailing blanks.
  trim =
    s:
    let
      m = builtins.head (builtins.match "[[:space:]]*(.*[^[:space:]])?[[:space:]]*" s);
    in
    if m == null then "" else m;

  # Stable de-duplication keeping the first occurrence.
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
}
