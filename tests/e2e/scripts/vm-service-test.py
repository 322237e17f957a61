# vm-service-test: SSH, the test user and Docker on the server, with a client node
# logging in over the test network. Globals: server, client (nodes), subtest, t
# (driver), Expected (configuration facts, script-header.py).
#
# The refusal subtests connect without logging in; the server's test-only module
# turns off sshd's PerSourcePenalties (test-node.nix) so they cannot lock the
# client out of the logins after them.
import re
import shlex

# Only globalTimeout bounds the boots: connect() awaits each node's root shell before
# the timed waits (see vm-execution-test.py).
UNITS_TIMEOUT = 60
STEP_TIMEOUT = 30
DOCKER_TIMEOUT = 60
CLIENT_KEY = "/root/.ssh/vmtest_key"
SSH_OPTIONS = (
    "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    " -o ConnectTimeout=10"
)


def ssh_command(user: str, command: str, extra: str = "") -> str:
    """The client-side command that runs `command` on the server as `user`."""
    target = f"{user}@{Expected.server_address}"
    return f"ssh {SSH_OPTIONS} {extra} {target} {shlex.quote(command)}"


def ssh_as(user: str, command: str) -> str:
    """Run `command` on the server as `user`, logging in with the test key."""
    return client.succeed(ssh_command(user, command, f"-i {CLIENT_KEY}"), timeout=STEP_TIMEOUT)


def refused_login(user: str, extra: str) -> str:
    """Try to log in as `user`; require a refusal and return ssh's message."""
    status, output = client.execute(
        ssh_command(user, "true", extra) + " 2>&1", timeout=STEP_TIMEOUT
    )
    t.assertNotEqual(status, 0, f"login as {user} ({extra}) was accepted: {output}")
    t.assertIn("Permission denied", output)
    return output


with subtest("sshd is active and port 22 answers on the test network"):
    server.start()
    client.start()
    # The two boot side by side; their waits count once both shells answer.
    server.connect()
    client.connect()
    server.wait_for_unit("sshd.service", timeout=UNITS_TIMEOUT)
    server.wait_for_open_port(22, timeout=STEP_TIMEOUT)
    client.wait_for_unit("multi-user.target", timeout=UNITS_TIMEOUT)
    client.wait_until_succeeds(
        f"ssh-keyscan -T 5 {Expected.server_address} | grep -q ssh-", timeout=STEP_TIMEOUT
    )

with subtest("test user logs in from the client with the test key"):
    client.succeed(
        f"install -D -m 0600 {Expected.ssh_private_key} {CLIENT_KEY}", timeout=STEP_TIMEOUT
    )
    t.assertEqual(ssh_as(Expected.test_user, "id -un").strip(), Expected.test_user)

with subtest("root login over SSH is refused even with an authorized key"):
    refused_login("root", f"-i {CLIENT_KEY}")

with subtest("password login over SSH is refused"):
    message = refused_login(
        Expected.test_user,
        "-o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive",
    )
    offered = re.search(r"Permission denied \(([^)]*)\)", message)
    t.assertIsNotNone(offered, message)
    methods = offered.group(1).split(",") if offered else []
    t.assertNotIn("password", methods)
    t.assertNotIn("keyboard-interactive", methods)

with subtest("test user is in the wheel and docker groups"):
    groups = server.succeed(f"id -nG {Expected.test_user}", timeout=STEP_TIMEOUT).split()
    t.assertIn("wheel", groups)
    t.assertIn("docker", groups)

with subtest("sudo grants wheel members all commands"):
    # e.g. "(ALL : ALL) SETENV: ALL" (NixOS tags the wheel rule with SETENV, maybe NOPASSWD).
    rules = server.succeed(f"sudo -l -U {Expected.test_user}", timeout=STEP_TIMEOUT)
    t.assertRegex(rules, r"\(ALL(\s*:\s*ALL)?\)\s+([A-Z_]+:\s*)*ALL\b")

with subtest("docker daemon is active"):
    # docker.service starts at boot (virtualisation.docker.enableOnBoot defaults to
    # true, docker.nix read at stored id 88920425); the client call would also
    # start it through docker.socket.
    server.wait_for_unit("docker.service", timeout=DOCKER_TIMEOUT)
    server.succeed("docker info --format '{{.ServerVersion}}'", timeout=STEP_TIMEOUT)

with subtest("dockerTools image loads without network"):
    server.succeed(f"docker load --input {Expected.docker_image}", timeout=DOCKER_TIMEOUT)
    server.succeed(f"docker image inspect {Expected.docker_image_ref}", timeout=STEP_TIMEOUT)

with subtest("test user runs a container with networking off"):
    output = ssh_as(
        Expected.test_user, f"docker run --rm --network none {Expected.docker_image_ref}"
    )
    t.assertIn(Expected.docker_image_output, output)
