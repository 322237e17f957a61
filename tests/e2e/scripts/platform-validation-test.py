# platform-validation-test: the platform inside the VM, on the host that runs the
# driver, and of the configurations (x86_64 VM; the aarch64 one must evaluate, which
# only this check asks Nix to do). Globals: server (node), subtest, t (driver),
# Expected (script-header.py).
import platform

# Only globalTimeout bounds the boot: connect() awaits the root shell before the timed
# waits (see vm-execution-test.py).
UNITS_TIMEOUT = 120
COMMAND_TIMEOUT = 30

with subtest("server kernel reports the check's machine type"):
    server.start()
    server.connect()
    server.wait_for_unit("multi-user.target", timeout=UNITS_TIMEOUT)
    t.assertEqual(
        server.succeed("uname -m", timeout=COMMAND_TIMEOUT).strip(), Expected.uname_machine
    )

with subtest("driver host reports the check's machine type"):
    t.assertEqual(platform.machine(), Expected.uname_machine)

with subtest("nixosConfigurations.vm targets the check's system"):
    t.assertEqual(Expected.vm_system, Expected.check_system)

with subtest("aarch64 configuration evaluates"):
    t.assertEqual(Expected.aarch64_system, "aarch64-linux")
    t.assertRegex(Expected.aarch64_toplevel_drv, r"^/nix/store/[a-z0-9]{32}-.*\.drv$")
