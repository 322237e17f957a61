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
      pkgsFor = system: nixpkgs.legacyPackages.${system};
    in
    {
      vmtestManifest = manifest;

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
        };
        default = self.apps.${system}.vmtest;
      });

      devShells = forAllSystems (system: {
        default = (pkgsFor system).callPackage ./nix/devshell.nix { vmtest = self.packages.${system}.vmtest; };
      });
    };
}
