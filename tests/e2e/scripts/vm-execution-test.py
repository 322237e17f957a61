# ruff: noqa: F821  (driver globals and runner names; scriptlint checks these names)
# vm-execution-test: the server boots to multi-user.target with the configured host
# name and no failed unit, then powers off cleanly. Runs last in the shared driver
# run because it shuts the server down. Globals: server (node), subtest, t
# (driver), Expected (runner/prelude.py).
BOOT_TIMEOUT = 300

with subtest("server reaches multi-user.target"):
    server.start()
    server.wait_for_unit("multi-user.target", timeout=BOOT_TIMEOUT)

with subtest("host name is the configured one"):
    t.assertEqual(server.succeed("cat /proc/sys/kernel/hostname").strip(), Expected.hostname)

with subtest("no systemd unit has failed"):
    _, state = server.execute("systemctl is-system-running --wait", timeout=BOOT_TIMEOUT)
    failed = server.succeed("systemctl list-units --state=failed --no-legend --plain")
    t.assertEqual(failed.strip(), "", f"failed units (system state {state.strip()})")
    t.assertEqual(state.strip(), "running")

with subtest("server powers off cleanly"):
    server.shutdown()
    t.assertFalse(server.is_up())
