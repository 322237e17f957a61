# vm-config-integrity-test: the evaluated configuration is clean (no failed
# assertions, no warnings) and the running VM is exactly that configuration.
# Globals: server (node), subtest, t (driver), Expected (script-header.py).
#
# Only globalTimeout bounds the boot: connect() awaits the root shell before the timed
# waits (see vm-execution-test.py).
import re

UNITS_TIMEOUT = 120
COMMAND_TIMEOUT = 30


def os_release() -> dict[str, str]:
    """/etc/os-release of the server as a dict, quotes removed."""
    fields = {}
    for line in server.succeed("cat /etc/os-release", timeout=COMMAND_TIMEOUT).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = value.strip().strip('"')
    return fields


with subtest("no NixOS assertion fails"):
    t.assertEqual(Expected.failed_assertions, [])

with subtest("configuration evaluates without warnings"):
    t.assertEqual(Expected.warnings, [])

with subtest("/run/current-system is the built system"):
    server.start()
    server.connect()
    server.wait_for_unit("multi-user.target", timeout=UNITS_TIMEOUT)
    running = server.succeed("readlink -f /run/current-system", timeout=COMMAND_TIMEOUT)
    t.assertEqual(running.strip(), Expected.toplevel)

with subtest("the test node keeps nixosConfigurations.vm's stateVersion"):
    t.assertRegex(Expected.configured_state_version, re.compile(r"^\d{2}\.\d{2}$"))
    t.assertEqual(Expected.state_version, Expected.configured_state_version)

with subtest("os-release names nixosConfigurations.vm's release"):
    # The same NixOS release as the configuration, so the node is that configuration.
    fields = os_release()
    t.assertEqual(fields.get("ID"), Expected.os_id)
    t.assertEqual(fields.get("VERSION_ID"), Expected.os_version_id)

with subtest("os-release carries the test node's own build"):
    # BUILD_ID is the node's version: the test framework forces every node's version
    # suffix to "test" (nixos-test-base.nix), where nixosConfigurations.vm has
    # `.<date>.<shortRev>`; the facts hold the node's own (nixos-vm-test.nix).
    t.assertEqual(os_release().get("BUILD_ID"), Expected.os_build_id)
