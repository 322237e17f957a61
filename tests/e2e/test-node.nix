# Test-only additions for a node of the booted checks. Every node is the real
# configuration (machines/nixos/vm-shared.nix) plus this small module: VM size,
# the test SSH key and, on the server, the Docker image to load offline.
#
# Uses vm-shared.nix's own interface for the key: `vmtest.testUser.authorizedKeys`
# ("Tests inject their own key here"). nixpkgs.* stays unset: runNixOSTest makes it
# read-only.
{
  role,
  sshPublicKey,
  extraPaths ? [ ],
}:
{ lib, ... }:
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

  # vm-shared.nix gives every node the same host name; the client, only the SSH
  # peer, gets its own so the two nodes stay apart.
  networking.hostName = lib.mkIf (role == "client") (lib.mkForce "client");
}
// lib.optionalAttrs (role == "server") {
  # The test key for the test user, and for root so that the refusal of root
  # logins is sshd's doing (PermitRootLogin), not a missing key.
  vmtest.testUser.authorizedKeys = [ sshPublicKey ];
  users.users.root.openssh.authorizedKeys.keys = [ sshPublicKey ];

  # OpenSSH 9.8 and later refuse, for a while, addresses that connected without
  # logging in (PerSourcePenalties, on by default). vm-service-test's keyscan and its
  # deliberate root and password refusals come from the client's one address, so
  # they could lock out the logins after them. The test server turns it off; sshd
  # itself, its PermitRootLogin and its authentication methods stay as configured.
  # (A stored nixpkgs package index, osbm/nixpkgs-vault, lists openssh 10.0p2; the
  # pin's own openssh could not be read here. sshd < 9.8 would reject the keyword.)
  services.openssh.settings.PerSourcePenalties = "no";
}
