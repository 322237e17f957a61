# vm-execution-test: the server boots to multi-user.target with the configured host
# name and no failed unit, then powers off cleanly. Globals: server (node), subtest,
# t, retry (driver), Expected (script-header.py).
#
# How long the boot takes is bounded only by the check's globalTimeout. The driver's
# timed waits start their clock before their first attempt (retry), and any first
# command blocks in connect() until the guest's root shell answers, without a limit
# (machine/__init__.py @ 019697db058b): a timed wait issued right after start() would
# also pay the boot. So every script awaits each node's shell with connect() (no
# timeout; a public method of the driver's machines in nixos-24.11 and on master)
# before its timed waits, whose timeouts then count from a booted guest only
# (scriptlint rejects a timed wait on a node whose shell was not awaited).
UNITS_TIMEOUT = 120
COMMAND_TIMEOUT = 30
POWER_OFF_LOG_TIMEOUT = 10

with subtest("server reaches multi-user.target"):
    server.start()
    server.connect()
    server.wait_for_unit("multi-user.target", timeout=UNITS_TIMEOUT)

with subtest("host name is the one nixosConfigurations.vm sets"):
    hostname = server.succeed("cat /proc/sys/kernel/hostname", timeout=COMMAND_TIMEOUT)
    t.assertEqual(hostname.strip(), Expected.hostname)

with subtest("no systemd unit has failed"):
    _, state = server.execute("systemctl is-system-running --wait", timeout=UNITS_TIMEOUT)
    failed = server.succeed(
        "systemctl list-units --state=failed --no-legend --plain", timeout=COMMAND_TIMEOUT
    )
    t.assertEqual(failed.strip(), "", f"failed units (system state {state.strip()})")
    t.assertEqual(state.strip(), "running")

with subtest("server powers off cleanly"):
    server.shutdown()
    # is_up() only reads the driver's own flags, which a crash clears too, and QEMU runs
    # with -no-reboot (machine/__init__.py @ 019697db058b), so a panic's reboot also just
    # ends QEMU: read what the kernel said on the serial console.
    # "reboot: Power down" is what the kernel prints last on a power-off
    # (kernel_power_off() in kernel/reboot.c).
    # The timeout goes second, by position: the keyword is `timeout` in older drivers
    # and `timeout_seconds` in newer ones.
    retry(lambda _: "reboot: Power down" in server.get_console_log(), POWER_OFF_LOG_TIMEOUT)
    t.assertNotIn("Kernel panic", server.get_console_log())
