# a package marked broken in environment.systemPackages.
{ pkgs, ... }:
{
  environment.systemPackages = [
    (pkgs.hello.overrideAttrs (old: {
      meta = old.meta // {
        broken = true;
      };
    }))
  ];
}
