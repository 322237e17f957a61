# Test-only additions for a node of the booted checks. Every node is the real
# configuration (machines/nixos/vm-shared.nix) plus this small module: VM size,
# the test SSH key and, on the server, the Docker image to load offline.
#
# Assumes vm-shared.nix declares `vmtest.testUser.name` (the login user the tests
# check); nixpkgs.* stays unset here because runNixOSTest makes it read-only.
{
  role,
  sshPublicKey,
  extraPaths ? [ ],
}:
{ config, lib, ... }:
let
  testUser =
    config.vmtest.testUser.name
      or (throw "tests/e2e/test-node.nix: machines/nixos/vm-shared.nix must define vmtest.testUser.name");
in
{
  imports = [ ../../machines/nixos/vm-shared.nix ];

  # The driver names machines after the node; older drivers took the name from the
  # start script, run-<system.name>-vm, so make that the role too.
  system.name = lib.mkForce role;

  # Test VM sizes win over sizes vm-shared.nix may set for build-vm (priority 90 <
  # the default 100), but not over an explicit mkForce there.
  virtualisation = {
    memorySize = lib.mkOverride 90 (if role == "server" then 2048 else 1024);
    cores = lib.mkOverride 90 2;
    diskSize = lib.mkOverride 90 (if role == "server" then 4096 else 2048);
    additionalPaths = extraPaths;
  };

  # The client is only the SSH peer; its own name keeps the two nodes apart.
  networking.hostName = lib.mkIf (role == "client") (lib.mkForce "client");

  # The test key for the test user, and for root so that the refusal of root
  # logins is sshd's doing (PermitRootLogin), not a missing key.
  users.users = lib.optionalAttrs (role == "server") {
    ${testUser}.openssh.authorizedKeys.keys = [ sshPublicKey ];
    root.openssh.authorizedKeys.keys = [ sshPublicKey ];
  };
}
