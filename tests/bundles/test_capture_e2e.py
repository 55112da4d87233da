"""``opsconsole capture`` and ``opsconsole open --check`` as a user runs them: real processes.

The suite's private XDG directories (tests/conftest.py) are in the environment the processes
inherit: no user configuration is read.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from opsconsole.bundle import open_bundle


def _run(program: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_capture_three_seconds_then_check(opsconsole_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "cap.tar.gz"
    done = _run(opsconsole_bin, "capture", "--duration", "3s", "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    # Not a terminal: plain progress lines with an ETA, then where the bundle went.
    progress = done.stderr.splitlines()
    assert any("ETA 0s" in line for line in progress)
    assert progress[-1] == f"capture: wrote {out}"
    bundle = open_bundle(out, tmp_path / "work")
    assert bundle.manifest["event_counts"]["host.sample"] >= 2
    assert bundle.manifest["redaction"]["enabled"] is True

    check = _run(opsconsole_bin, "open", "--check", out)
    assert (check.returncode, check.stderr) == (0, "")
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(out.read_bytes()[:-200])
    check = _run(opsconsole_bin, "open", "--check", damaged)
    assert check.returncode == 1
    assert check.stderr.startswith(f"{damaged}: ")


def test_capture_refuses_an_existing_output(opsconsole_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "there.tar.gz"
    out.write_bytes(b"keep me")
    done = _run(opsconsole_bin, "capture", "--duration", "1s", "-o", out)
    assert done.returncode == 1 and "already exists" in done.stderr
    assert out.read_bytes() == b"keep me"
