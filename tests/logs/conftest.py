"""A real journal file for the journald tests, written by systemd's own journal-remote.

Debian ships ``systemd-journal-remote`` apart from systemd, and installing it would upgrade
systemd itself when the archive has a newer point release. So the set-up downloads the .deb of
the version matching the installed systemd, with libmicrohttpd (the one library it needs that
systemd lacks), unpacks both into a cache under /tmp (``apt-get download`` + ``dpkg -x``, once)
and runs the binary from there with ``LD_LIBRARY_PATH``: it turns journal export-format entries
fed on its standard input into a ``.journal`` file, appended while it runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CACHE = (
    Path(os.environ.get("OPSCONSOLE_TEST_CACHE", "/tmp/opsconsole-test-cache")) / "journal-remote"
)
BOOT_ID = "0123456789abcdef0123456789abcdef"


def _run(*command: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300)
    if result.returncode:
        pytest.fail(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def journal_remote() -> tuple[Path, dict[str, str]]:
    """systemd-journal-remote of the installed systemd's version, and the environment it needs."""
    version = _run("dpkg-query", "-W", "-f=${Version}", "systemd").strip()
    root = CACHE / version
    binary = root / "lib/systemd/systemd-journal-remote"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes download it once
        if not binary.exists():
            with tempfile.TemporaryDirectory(dir=CACHE) as work:
                _run(
                    "apt-get",
                    "download",
                    f"systemd-journal-remote={version}",
                    "libmicrohttpd12",
                    cwd=Path(work),
                )
                unpacked = Path(work) / "root"
                for deb in Path(work).glob("*.deb"):
                    _run("dpkg", "-x", str(deb), str(unpacked))
                shutil.rmtree(root, ignore_errors=True)
                unpacked.rename(root)
    libraries = sorted({str(path.parent) for path in root.glob("usr/lib/*/libmicrohttpd.so.12")})
    return binary, {**os.environ, "LD_LIBRARY_PATH": ":".join(libraries)}


def export_entry(fields: dict[str, str | bytes]) -> bytes:
    """One entry in the journal export format (binary-safe for values with newlines)."""
    out = bytearray()
    for key, value in fields.items():
        data = value.encode() if isinstance(value, str) else value
        if b"\n" in data or any(byte < 0x20 and byte != 0x09 for byte in data):
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out) + b"\n"


class JournalWriter:
    """A journal file being written: ``write`` appends entries, ``close`` finishes the file."""

    def __init__(self, path: Path) -> None:
        binary, env = journal_remote()
        self.path = path
        self.process = subprocess.Popen(
            [str(binary), f"--output={path}", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._sequence = 0

    def write(
        self, message: str | bytes, *, unit: str, priority: int, ts: float, pid: int = 100
    ) -> None:
        """Append one entry (as a unit's service would log it) and flush it to the writer."""
        self._sequence += 1
        assert self.process.stdin is not None
        self.process.stdin.write(
            export_entry(
                {
                    "__REALTIME_TIMESTAMP": str(int(ts * 1e6)),
                    "__MONOTONIC_TIMESTAMP": str(self._sequence),
                    "_BOOT_ID": BOOT_ID,
                    "_SYSTEMD_UNIT": unit,
                    "SYSLOG_IDENTIFIER": unit.removesuffix(".service"),
                    "_PID": str(pid),
                    "PRIORITY": str(priority),
                    "MESSAGE": message,
                }
            )
        )
        self.process.stdin.flush()

    def wait_entries(self, count: int, timeout: float = 10.0) -> None:
        """Wait until journalctl reads ``count`` entries in the file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                ["journalctl", "--file", str(self.path), "-q", "-o", "export", "--no-pager"],
                capture_output=True,
                timeout=30,
            )
            if (
                result.stdout.count(b"\n__CURSOR=") + result.stdout.startswith(b"__CURSOR=")
                >= count
            ):
                return
            time.sleep(0.05)
        pytest.fail(f"{self.path} did not get {count} entries in {timeout}s")

    def close(self) -> None:
        """End the input: journal-remote writes the file out and exits."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        if self.process.wait(timeout=30):
            assert self.process.stderr is not None
            pytest.fail(f"journal-remote failed: {self.process.stderr.read().decode()[-500:]}")


@pytest.fixture
def journal_writer(tmp_path: Path) -> Iterator[JournalWriter]:
    """A journal file under ``tmp_path`` that entries can be appended to while it is read."""
    writer = JournalWriter(tmp_path / "remote.journal")
    try:
        yield writer
    finally:
        writer.close()
