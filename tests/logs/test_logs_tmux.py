"""End to end in a real terminal: a pipe into ``opsconsole logs -``, keys typed through tmux."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LAUNCHER = [sys.executable, "-m", "opsconsole", "logs"]
"""The ``logs`` subcommand alone (``opsconsole logs`` once the CLI is wired)."""


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "logs")

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen:\n{screen}")
            time.sleep(0.1)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    terminal = Tmux(tmp_path / "tmux.sock")
    terminal(
        "-f", "/dev/null", "new-session", "-d", "-s", "logs", "-x", "100", "-y", "15", "sleep 60"
    )
    try:
        yield terminal
    finally:
        subprocess.run(["tmux", "-S", str(terminal.socket), "kill-server"], check=False, timeout=10)


def test_pipe_into_logs_dash(tmux: Tmux, tmp_path: Path) -> None:
    status = tmp_path / "status"
    feeder = (
        'for i in 1 2 3; do echo "piped $i ERROR"; sleep 0.2; done; '
        "printf 'evil \\033]0;pwned\\007 \\033[2J end\\n'; sleep 2; echo late"
    )
    command = f"({feeder}) | {shlex.join(LAUNCHER)} -; echo $? > {shlex.quote(str(status))}"
    # env -i: the program sees what a fresh login gives it, nothing of the test runner's.
    clean = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={tmp_path}", "TERM=xterm-256color"]
    tmux(
        "respawn-pane",
        "-k",
        "-t",
        "logs",
        shlex.join([*clean, "LANG=C.UTF-8", "sh", "-c", command]),
    )
    tmux.wait_for("evil")
    screen = tmux.wait_for("stdin")  # the title, drawn with the lines or a frame later
    assert "piped 1 ERROR" in screen
    assert "\\x1b]0;pwned\\x07 \\x1b[2J end" in screen  # shown, not obeyed
    screen = tmux.wait_for("[end of input]")
    assert "late" in screen
    tmux("send-keys", "-t", "logs", "g")  # the keyboard works although stdin is the pipe
    tmux.wait_for("paused")
    tmux("send-keys", "-t", "logs", "q")
    deadline = time.monotonic() + 10
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.read_text().strip() == "0"


def test_missing_file_exits_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LAUNCHER, str(tmp_path / "nope.log")], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "nope.log: no such file" in result.stderr
