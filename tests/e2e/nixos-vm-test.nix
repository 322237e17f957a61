# The six full-tier checks and vm-test-suite, for x86_64-linux (nix/checks.nix imports
# this file only there). Read against nixpkgs sources noted in tests/e2e/README.md.
#
# Shape, as nixpkgs' own tests are built:
#   vm-build-test, vm-generation-test  a probe build each (the configured system is not
#                                      booted; the image is made in nixpkgs' build VM,
#                                      so generation needs kvm);
#   the four booted checks             each its own pkgs.testers.runNixOSTest with only
#                                      the nodes it needs; the check IS that test, so
#                                      `.driverInteractive` opens it and a failing
#                                      subtest fails its derivation (never cached);
#   vm-test-suite                      depends on the six and renders their results
#                                      files: `out` is the plain-text report (`cat
#                                      result`), `report` holds report.json, junit.xml.
{
  lib,
  pkgs,
  system,
  self,
}:
let
  suite = import ./suite.nix;
  vmConfig = self.nixosConfigurations.vm.config;
  python = pkgs.python3;
  # Only the module itself goes to the store (no __pycache__ from a working tree).
  reportLib = pkgs.writeTextDir "vmtest_e2e.py" (builtins.readFile ./report/vmtest_e2e.py);
  sshKeys = import (pkgs.path + "/nixos/tests/ssh-keys.nix") pkgs;

  checkByName = name: lib.findFirst (check: check.name == name) (throw "no check ${name}") suite.checks;

  # A container image built by nixpkgs, loaded into Docker from the store (no network).
  dockerImage = pkgs.dockerTools.buildLayeredImage {
    name = "vmtest-hello";
    tag = "latest";
    config.Cmd = [ (lib.getExe pkgs.hello) ];
  };

  toplevel = vmConfig.system.build.toplevel;
  closure = pkgs.closureInfo { rootPaths = [ toplevel ]; };

  # --- probes (no boot of the configuration) -------------------------------------------

  # The check's probe script (suite.json) run at build time; `args` is shell text. The
  # probe records every subtest, then exits non-zero if any failed: no output, no cache.
  runProbe =
    name: args:
    pkgs.runCommand name { nativeBuildInputs = [ python ]; } ''
      mkdir -p $out
      PYTHONPATH=${reportLib} python3 ${./. + "/${(checkByName name).script}"} \
        ${args} --results $out/vmtest-results.json
    '';

  probes = {
    vm-build-test = runProbe "vm-build-test" (
      lib.escapeShellArgs [
        "--toplevel=${toplevel}"
        "--store-paths=${closure}/store-paths"
        "--sshd-package=${vmConfig.services.openssh.package}"
        "--docker-package=${vmConfig.virtualisation.docker.package}"
      ]
    );

    # nixpkgs' own image machinery (nixos/modules/image/images.nix): the `qemu` variant
    # is disk-image.nix with image.format = "qcow2" and legacy boot; passthru.filePath
    # names the file inside the output.
    vm-generation-test =
      let
        image = vmConfig.system.build.images.qemu;
      in
      runProbe "vm-generation-test" (
        lib.escapeShellArgs [
          "--image=${image}/${image.passthru.filePath}"
          "--qemu-img=${lib.getExe' pkgs.qemu "qemu-img"}"
        ]
        + " --closure-bytes=\"$(cat ${closure}/total-nar-size)\""
      );
  };

  # --- the booted checks ---------------------------------------------------------------

  # Every node is the real vm-shared.nix plus test-node.nix, defined once here; each
  # check takes the nodes suite.json lists for it.
  nodes = {
    server = import ./test-node.nix {
      role = "server";
      sshPublicKey = sshKeys.snakeOilPublicKey;
      extraPaths = [ dockerImage ];
    };
    client = import ./test-node.nix {
      role = "client";
      sshPublicKey = sshKeys.snakeOilPublicKey;
      extraPaths = [ sshKeys.snakeOilPrivateKey ];
    };
  };

  # QEMU refuses software emulation, so a missing /dev/kvm fails in seconds with QEMU's
  # message instead of a crawl into globalTimeout. The test-framework option
  # `qemu.forceAccel` (nixpkgs PR #509553, opened 2026-04-13, merged; read in
  # nixos/lib/testing/driver.nix @ 01fbdeef22b7) is set where the pinned nixpkgs
  # declares it; whether nixos-26.05 at 02e08985 does could not be read here.
  forceAccel =
    { options, lib, ... }:
    {
      config = lib.optionalAttrs (options ? qemu && options.qemu ? forceAccel) {
        qemu.forceAccel = true;
      };
    };

  # Values the scripts compare against (class Facts in script-header.py), from the
  # evaluated configurations; `nodes` are the test's own nodes.
  facts =
    check: nodes:
    {
      check_system = system;
      uname_machine = pkgs.stdenv.hostPlatform.uname.processor;
      vm_system = vmConfig.nixpkgs.hostPlatform.system;
      hostname = vmConfig.networking.hostName;
      test_user = vmConfig.vmtest.testUser.name;
      server_address = nodes.server.networking.primaryIPAddress;
      ssh_private_key = "${sshKeys.snakeOilPrivateKey}";
      docker_image = "${dockerImage}";
      docker_image_ref = "${dockerImage.imageName}:${dockerImage.imageTag}";
      docker_image_output = "Hello, world!";
      toplevel = "${nodes.server.system.build.toplevel}";
      state_version = nodes.server.system.stateVersion;
      configured_state_version = vmConfig.system.stateVersion;
      # /etc/os-release (nixos/modules/misc/version.nix): ID = distroId, VERSION_ID =
      # release, BUILD_ID = version = release + versionSuffix. ID and VERSION_ID must be
      # nixosConfigurations.vm's (the node is that configuration on the same NixOS
      # release). BUILD_ID is the node's own: the test framework forces every node's
      # versionSuffix = "test" (and label, revision; nixos/lib/testing/nixos-test-base.nix),
      # while the flake configuration's is `.<date>.<shortRev>` (lib/flake-version-info.nix).
      os_id = vmConfig.system.nixos.distroId;
      os_version_id = vmConfig.system.nixos.release;
      os_build_id = nodes.server.system.nixos.version;
      failed_assertions = map (a: a.message) (builtins.filter (a: !a.assertion) vmConfig.assertions);
      inherit (vmConfig) warnings;
    }
    # The aarch64 configuration is evaluated (instantiated, not built) by this check
    # only: an evaluation error there fails platform-validation-test, with Nix's
    # message, and leaves the other checks alone.
    // lib.optionalAttrs (check.name == "platform-validation-test") (
      let
        aarch64 =
          (self.nixosConfigurations.vm-aarch64 or (throw "flake has no nixosConfigurations.vm-aarch64")).config;
      in
      {
        aarch64_system = aarch64.nixpkgs.hostPlatform.system;
        aarch64_toplevel_drv = builtins.unsafeDiscardStringContext aarch64.system.build.toplevel.drvPath;
      }
    );

  bootTest =
    check:
    pkgs.testers.runNixOSTest {
      imports = [ forceAccel ];
      inherit (check) name;
      nodes = lib.getAttrs check.nodes nodes;
      # suite.json's timeoutSeconds; scriptlint keeps the script's worst case inside it.
      globalTimeout = check.timeoutSeconds;
      # No `--junit-xml` in extraDriverArgs: in nixpkgs' logger.py at 0348869915cd
      # (master, after 2026-08-25) JunitXMLLogger.subtest restores currentSubtest = None
      # and then indexes self.tests[None] when a top-level subtest ends (KeyError: None).
      # Which logger 26.05 ships is unverified here; results come from script-header.py.
      testScript =
        { nodes, ... }:
        suite.testScript check (pkgs.writeText "${check.name}-expected.json" (builtins.toJSON (facts check nodes)));
    };

  checks = builtins.listToAttrs (
    map (check: {
      inherit (check) name;
      value = if check.kind == "boot" then bootTest check else probes.${check.name};
    }) suite.checks
  );

  expectedFile = pkgs.writeText "vmtest-expected.json" (
    builtins.toJSON {
      checks = map (check: { inherit (check) name subtests; }) suite.checks;
    }
  );
in
checks
// {
  # Depends on the six: when one fails, Nix fails the suite naming that check's
  # derivation, and that check's own log says which subtest failed and why.
  #
  # $report/report.json (written by report/vmtest_e2e.py, keys sorted):
  #   { schemaVersion = 1; suite = "vm-test-suite"; status = "passed" | "failed";
  #     summary = { checks; passed; failed; };            # counts of checks
  #     checks = [ { name; status = "passed" | "failed"; error = str | null;
  #                  durationSeconds = float | null;
  #                  subtests = [ { name; status = "passed" | "failed" | "not-run";
  #                                 error = str | null; durationSeconds = float | null; } ];
  #                } ];                                  # the six, in suite.json order
  #   }
  # $report/junit.xml: <testsuites> with one <testsuite> per check, one <testcase> per
  # subtest (<failure> / <skipped> for not-run).
  vm-test-suite =
    pkgs.runCommand suite.suiteName
      {
        nativeBuildInputs = [ python ];
        outputs = [
          "out"
          "report"
        ];
      }
      ''
        PYTHONPATH=${reportLib} python3 -m vmtest_e2e --suite-name ${suite.suiteName} \
          --expected ${expectedFile} \
          --results ${lib.concatMapStringsSep " " (check: "${checks.${check.name}}/vmtest-results.json") suite.checks} \
          --out $out --report-dir $report
      '';
}
