{
  description = "nixos-vmtest: quick analysis and KVM-booted NixOS VM tests for machines/nixos/vm-shared.nix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      # Everything up to `checks` uses builtins only: the manifest and the
      # names of the checks evaluate without fetching or evaluating nixpkgs.
      manifest = import ./nix/manifest.nix;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      # nixpkgs 26.05 is the last release for x86_64-darwin and says so on every
      # evaluation of its packages there; `allowDeprecatedx86_64Darwin` (nixpkgs
      # PR #492100, backported as #493099) is its own switch to keep using it
      # quietly. The quick tier runs on Intel Macs until 26.05 leaves support.
      pkgsFor =
        system:
        if system == "x86_64-darwin" then
          import nixpkgs {
            inherit system;
            config.allowDeprecatedx86_64Darwin = true;
          }
        else
          nixpkgs.legacyPackages.${system};
      pyproject = builtins.fromTOML (builtins.readFile ./pyproject.toml);
    in
    {
      # The check manifest, plain data. Under `lib`: `nix flake check` knows
      # that output and checks nothing in it (NixOS/nix src/nix/flake.cc, read
      # at 003b64476e3bb3cb8159512fbdb612425d3c088a: lib, darwinConfigurations,
      # homeConfigurations, ... are "known but unchecked"), while a top-level
      # `vmtestManifest` gets "unknown flake output". vmtest reads either.
      lib.vmtestManifest = manifest;

      nixosConfigurations = import ./nix/nixos-configurations.nix { inherit nixpkgs; };

      checks = forAllSystems (
        system:
        import ./nix/checks.nix {
          inherit self nixpkgs system manifest;
        }
      );

      packages = forAllSystems (
        system:
        let
          vmtest = (pkgsFor system).callPackage ./nix/package.nix { };
        in
        {
          inherit vmtest;
          default = vmtest;
        }
      );

      apps = forAllSystems (system: {
        vmtest = {
          type = "app";
          program = "${self.packages.${system}.vmtest}/bin/vmtest";
          meta.description = pyproject.project.description;
        };
        default = self.apps.${system}.vmtest;
      });

      devShells = forAllSystems (system: {
        default = (pkgsFor system).callPackage ./nix/devshell.nix { vmtest = self.packages.${system}.vmtest; };
      });
    };
}
