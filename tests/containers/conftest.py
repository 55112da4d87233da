"""A real podman engine for the container tests, private to the test session.

The session starts ``podman system service`` on a unix socket in a temporary directory, with its
own storage (``--root``, ``--runroot``, ``--tmpdir``) and a containers.conf that works on these
machines (runc, cgroupfs, explicit ulimits, events in a file since journald is not running), and
builds ``localhost/bb`` from the host's static busybox with ``podman import``: no registry. At
the end every container, the image, the service and the directory are removed.

Both SDKs are tested through the same service: podman-py on the libpod API, the docker SDK on the
Docker-compatible API of the same socket.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opsconsole.sources.engine import EngineSpec, Runtime
from tests.services import DIES_WITH_TESTS

IMAGE = "localhost/bb:latest"
APPLETS = ("sh", "echo", "sleep", "cat", "date", "seq", "printf", "true", "false", "yes", "head")
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
_names = itertools.count()


@dataclass
class Podman:
    """A private podman: its CLI with the session's storage, and services on its sockets."""

    root: Path
    services: dict[Path, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.root / "containers.conf")}

    def argv(self, *args: str) -> list[str]:
        return [
            "podman",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--tmpdir",
            str(self.root / "tmp"),
            *args,
        ]

    def __call__(self, *args: str, check: bool = True, timeout: float = 60) -> str:
        """Run a podman command; its stdout."""
        done = subprocess.run(
            self.argv(*args), env=self.env, capture_output=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout.decode()

    def start_service(self, sock: Path) -> Path:
        """Start ``podman system service`` on ``sock``; return once it answers."""
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        process = subprocess.Popen(
            [*DIES_WITH_TESTS, *self.argv("system", "service", "--time=0", f"unix://{sock}")],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.services[sock] = process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if sock.exists():
                done = subprocess.run(
                    ["podman", "--url", f"unix://{sock}", "version"],
                    env=self.env,
                    capture_output=True,
                    check=False,
                    timeout=10,
                )
                if done.returncode == 0:
                    return sock
            if process.poll() is not None:
                raise AssertionError(f"podman system service exited with {process.returncode}")
            time.sleep(0.05)
        raise AssertionError("podman system service did not answer in 20 s")

    def kill_service(self, sock: Path) -> None:
        """Kill the service on ``sock`` at once (SIGKILL), as an engine crash does."""
        process = self.services.pop(sock)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def run(self, *command: str, name: str | None = None, options: tuple[str, ...] = ()) -> str:
        """Start a detached busybox container; return its name."""
        name = name or f"t{next(_names)}-{os.getpid()}"
        self("run", "-d", "--name", name, "--network", "none", *options, IMAGE, *command)
        return name


def _build_image(podman: Podman) -> None:
    rootfs = podman.root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    archive = podman.root / "bb.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".")
    podman("import", str(archive), IMAGE)


def _unmount_under(path: Path) -> None:
    """Unmount what podman left mounted under ``path`` (overlay layers), deepest first."""
    mounts = [
        line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if line.split()
    ]
    for mount in sorted((m for m in mounts if m.startswith(str(path))), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


@contextlib.contextmanager
def private_podman() -> Iterator[Podman]:
    """A private podman with the busybox image and a service on ``podman.sock``; everything it
    made is removed on the way out (the benches use it too)."""
    # A short path: a unix socket's path is limited to 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="opsc-pm-", dir="/tmp"))
    (root / "containers.conf").write_text(CONTAINERS_CONF)
    engine = Podman(root)
    try:
        _build_image(engine)
        engine.start_service(root / "podman.sock")
        yield engine
    finally:
        engine("rm", "--all", "--force", "--time", "0", check=False, timeout=300)
        engine("rmi", "--all", "--force", check=False)
        for sock in list(engine.services):
            engine.kill_service(sock)
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    """The session's private podman (see ``private_podman``)."""
    if shutil.which("podman") is None or not Path("/bin/busybox").exists():
        pytest.fail("podman and busybox-static are needed: scripts/test installs them")
    with private_podman() as engine:
        yield engine


@pytest.fixture
def sock(podman: Podman) -> Path:
    """The socket of the session's service."""
    return podman.root / "podman.sock"


@pytest.fixture(params=["podman", "docker"])
def spec(request: pytest.FixtureRequest, sock: Path) -> EngineSpec:
    """The session's engine through each SDK: podman-py (libpod API) and docker (compat API)."""
    runtime: Runtime = request.param
    return EngineSpec(runtime, f"unix://{sock}")


@pytest.fixture
def names(podman: Podman) -> Iterator[list[str]]:
    """Names of containers a test creates; removed after the test."""
    created: list[str] = []
    yield created
    if created:
        podman("rm", "--force", "--time", "0", *created, check=False)
