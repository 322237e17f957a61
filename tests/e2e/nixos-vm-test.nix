# The six full-tier checks and vm-test-suite, for x86_64-linux (nix/checks.nix imports
# this file only there). Read against nixpkgs sources noted in tests/e2e/README.md.
#
# Shape: every check is a small "judge" derivation that reads recorded results and
# fails unless all of its subtests passed (tests/e2e/report/vmtest_e2e.py):
#   vm-build-test, vm-generation-test  <- a probe build each (the configured system is
#                                         not booted; the image is made in nixpkgs'
#                                         build VM, so generation needs kvm);
#   the four booted checks             <- ONE shared driver run (`bootRun`, nodes server
#                                         + client = two VM boots for the whole suite).
# A failing subtest ends its own check's script; the other checks' scripts still run
# (runner/prelude.py), and subtests after a failure are reported "not-run".
# vm-test-suite judges all six at once: `out` is the plain-text report (`cat result`),
# the `report` output holds report.json and junit.xml.
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

  # --- probes (no boot of the configuration) -------------------------------------------------------------

  # The check's probe script (suite.json) run at build time; `args` is shell text.
  runProbe =
    name: args:
    pkgs.runCommand "vmtest-probe-${name}" { nativeBuildInputs = [ python ]; } ''
      mkdir -p $out
      PYTHONPATH=${reportLib} python3 ${./. + "/${(checkByName name).script}"} \
        ${args} --results $out/vmtest-results.json
    '';

  buildProbe = runProbe "vm-build-test" (
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
  qemuImage = vmConfig.system.build.images.qemu;
  generationProbe = runProbe "vm-generation-test" (
    lib.escapeShellArgs [
      "--image=${qemuImage}/${qemuImage.passthru.filePath}"
      "--qemu-img=${lib.getExe' pkgs.qemu "qemu-img"}"
    ]
    + " --closure-bytes=\"$(cat ${closure}/total-nar-size)\""
  );

  # --- the shared driver run (two boots) ----------------------------------------------

  testNode =
    role: extraPaths:
    import ./test-node.nix {
      inherit role extraPaths;
      sshPublicKey = sshKeys.snakeOilPublicKey;
    };

  # The aarch64 configuration must evaluate (instantiate), not build: a throw there is
  # caught and fails the "aarch64 configuration evaluates" subtest, not the whole run.
  aarch64Config =
    (self.nixosConfigurations.vm-aarch64 or (throw "flake has no nixosConfigurations.vm-aarch64")).config;
  aarch64Drv = builtins.tryEval (
    builtins.unsafeDiscardStringContext aarch64Config.system.build.toplevel.drvPath
  );
  aarch64System = builtins.tryEval aarch64Config.nixpkgs.hostPlatform.system;

  # Values the scripts compare against (class Expected in runner/prelude.py).
  facts = nodes: {
    check_system = system;
    uname_machine = pkgs.stdenv.hostPlatform.uname.processor;
    vm_system = vmConfig.nixpkgs.hostPlatform.system;
    node_system = nodes.server.nixpkgs.hostPlatform.system;
    aarch64_system = if aarch64System.success then aarch64System.value else "";
    aarch64_toplevel_drv = if aarch64Drv.success then aarch64Drv.value else "";
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
    os_id = nodes.server.system.nixos.distroId;
    os_version_id = nodes.server.system.nixos.release;
    os_build_id = nodes.server.system.nixos.version;
    failed_assertions_json = builtins.toJSON (
      map (a: a.message) (builtins.filter (a: !a.assertion) vmConfig.assertions)
    );
    warnings_json = builtins.toJSON vmConfig.warnings;
  };

  # Each `"@name@"` placeholder of the runner becomes a Python string literal (JSON).
  # The runner's placeholders and the facts must match one to one.
  fillFacts =
    values: text:
    let
      placeholders = map builtins.head (
        builtins.filter builtins.isList (builtins.split ''"@([a-z0-9_]+)@"'' text)
      );
      names = builtins.attrNames values;
    in
    if lib.sort lib.lessThan placeholders != names then
      throw "tests/e2e: runner placeholders ${toString placeholders} differ from facts ${toString names}"
    else
      builtins.replaceStrings (map (name: "\"@${name}@\"") names) (
        map builtins.toJSON (builtins.attrValues values)
      ) text;

  bootRun = pkgs.testers.runNixOSTest {
    name = "vmtest-boot-run";
    nodes = {
      server = testNode "server" [ dockerImage ];
      client = testNode "client" [ sshKeys.snakeOilPrivateKey ];
    };
    # Two boots, the Docker run and SSH round trips take a few minutes under KVM;
    # this bounds the whole run, including the waits that take no timeout (shutdown).
    globalTimeout = 720;
    # No `--junit-xml` in extraDriverArgs: in nixpkgs' logger.py at 0348869915cd (master,
    # after 2026-08-25) JunitXMLLogger.subtest restores currentSubtest = None and then
    # indexes self.tests[None] when a top-level subtest ends, so every subtest would fail
    # with KeyError. Which driver 26.05 ships is unverified here; the suite's junit.xml
    # comes from vmtest-results.json instead (one testcase per subtest, same names).
    testScript = { nodes, ... }: fillFacts (facts nodes) suite.composedScriptTemplate;
  };

  # --- judges ---------------------------------------------------------------------------

  expectedFile =
    checks:
    pkgs.writeText "vmtest-expected.json" (
      builtins.toJSON {
        checks = map (check: { inherit (check) name subtests; }) checks;
      }
    );

  judge =
    name: results:
    pkgs.runCommand name
      {
        nativeBuildInputs = [ python ];
        passthru = { inherit results; };
      }
      ''
        PYTHONPATH=${reportLib} python3 -m vmtest_e2e judge \
          --expected ${expectedFile [ (checkByName name) ]} \
          --results ${results}/vmtest-results.json --out $out
      '';

  resultsOf = check: if check.kind == "boot" then bootRun else probes.${check.name};
  probes = {
    vm-build-test = buildProbe;
    vm-generation-test = generationProbe;
  };
  checks = builtins.listToAttrs (
    map (check: {
      inherit (check) name;
      value = judge check.name (resultsOf check);
    }) suite.checks
  );
in
checks
// {
  # Fails when any of the six fails; the report is printed to the build log either way
  # (a failed build keeps no output, so the log is where CI shows it).
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
        passthru = { inherit bootRun probes; };
      }
      ''
        mkdir -p $report
        status=0
        PYTHONPATH=${reportLib} python3 -m vmtest_e2e suite --suite-name ${suite.suiteName} \
          --expected ${expectedFile suite.checks} \
          --results ${buildProbe}/vmtest-results.json ${generationProbe}/vmtest-results.json \
            ${bootRun}/vmtest-results.json \
          --out $out --report-dir $report || status=$?
        exit $status
      '';
}
