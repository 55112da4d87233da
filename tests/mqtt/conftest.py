"""Real mosquitto brokers for the MQTT tests, on free loopback ports.

One anonymous broker serves the session. A second instance has two listeners: one that takes
only a user from a password file, and a TLS listener whose CA, server and client certificates
are made here with ``openssl`` (it requires a client certificate). Tests that kill and restart a
broker get their own (``own_broker``). Every broker is stopped when its fixture ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsconsole.sources.mqtt_link import MqttSettings
from tests.services import DIES_WITH_TESTS

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
USER, PASSWORD = "ops", "s3cret-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """A mosquitto process with the given listeners; start, kill, restart, stop."""

    def __init__(self, directory: Path, config: str, ports: list[int]) -> None:
        self.directory = directory
        self.ports = ports
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        # As root mosquitto drops to its own user, which cannot read pytest's private dirs.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(user + "persistence false\nlog_type all\n" + config)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.ports[0]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*DIES_WITH_TESTS, MOSQUITTO, "-c", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        for port in self.ports:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited:\n{self.log.read_text()[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"mosquitto not listening on {port}") from None
                    time.sleep(0.02)

    def kill(self) -> None:
        """Kill -9: the broker vanishes mid-session, as a crashed one does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def connections(self) -> int:
        """MQTT connections the broker answered so far (readiness probes are not counted)."""
        return self.log.read_text(errors="replace").count("Sending CONNACK")

    def settings(self, **values: object) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.port, **values)  # type: ignore[arg-type]


@dataclass
class Secure:
    """The second broker: a password listener and a TLS listener, and the files to reach them."""

    broker: Broker
    password_port: int
    tls_port: int
    ca: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path
    """A CA that signed nothing of the broker's: trusting it alone must fail."""

    def password(self, **values: object) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.password_port, **values)  # type: ignore[arg-type]

    def tls(self, **values: object) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.tls_port, tls=True, **values)  # type: ignore[arg-type]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, signed by
    the CA; and an unrelated CA."""
    for name in ("ca", "rogue"):
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN=opsconsole test {name}",
            cwd=directory,
        )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extra in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={'localhost' if name == 'server' else 'ops'}",
            cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *extra,
            cwd=directory,
        )  # fmt: skip


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """An anonymous broker for the session."""
    directory = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    server = Broker(directory, f"listener {port} 127.0.0.1\nallow_anonymous true\n", [port])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker for one test, which may kill and restart it."""
    port = free_port()
    server = Broker(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\n", [port])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    """A broker with a password listener and a TLS listener (client certificate required)."""
    directory = tmp_path_factory.mktemp("mosquitto-secure")
    make_certificates(directory)
    passwords = directory / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), USER, PASSWORD],
        check=True,
        capture_output=True,
    )
    password_port, tls_port = free_port(), free_port()
    config = (
        "per_listener_settings true\n"
        f"listener {password_port} 127.0.0.1\n"
        f"allow_anonymous false\npassword_file {passwords}\n"
        f"listener {tls_port} 127.0.0.1\n"
        "allow_anonymous true\n"
        f"cafile {directory / 'ca.crt'}\n"
        f"certfile {directory / 'server.crt'}\n"
        f"keyfile {directory / 'server.key'}\n"
        "require_certificate true\n"
    )
    server = Broker(directory, config, [password_port, tls_port])
    server.start()
    yield Secure(
        broker=server,
        password_port=password_port,
        tls_port=tls_port,
        ca=directory / "ca.crt",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        rogue_ca=directory / "rogue.crt",
    )
    server.stop()
