# ruff: noqa: F821  (driver globals and runner names; scriptlint checks these names)
# vm-config-integrity-test: the evaluated configuration is clean (no failed
# assertions, no warnings) and the running VM is exactly that configuration.
# Globals: server (node), subtest, t (driver), Expected (runner/prelude.py).
import re

BOOT_TIMEOUT = 300


def os_release() -> dict[str, str]:
    """/etc/os-release of the server as a dict, quotes removed."""
    fields = {}
    for line in server.succeed("cat /etc/os-release").splitlines():
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
    server.wait_for_unit("multi-user.target", timeout=BOOT_TIMEOUT)
    running = server.succeed("readlink -f /run/current-system").strip()
    t.assertEqual(running, Expected.toplevel)

with subtest("stateVersion is the configured one"):
    t.assertRegex(Expected.state_version, re.compile(r"^\d{2}\.\d{2}$"))
    t.assertEqual(Expected.state_version, Expected.configured_state_version)

with subtest("os-release matches the configuration"):
    fields = os_release()
    t.assertEqual(fields.get("ID"), Expected.os_id)
    t.assertEqual(fields.get("VERSION_ID"), Expected.os_version_id)
    t.assertEqual(fields.get("BUILD_ID"), Expected.os_build_id)
