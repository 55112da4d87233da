"""End to end in a real terminal: a pipe into ``opsconsole logs -``, keys typed through tmux."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tests.tmux import Tmux

LAUNCHER = [sys.executable, "-m", "opsconsole", "logs"]
"""The ``logs`` subcommand alone (``opsconsole logs`` once the CLI is wired)."""


def test_pipe_into_logs_dash(tmp_path: Path) -> None:
    feeder = (
        'for i in 1 2 3; do echo "piped $i ERROR"; sleep 0.2; done; '
        "printf 'evil \\033]0;pwned\\007 \\033[2J end\\n'; sleep 2; echo late"
    )
    command = ["sh", "-c", f"({feeder}) | {shlex.join(LAUNCHER)} -"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    with Tmux.start(tmp_path, command, size=(100, 15), env=env) as tmux:
        tmux.wait_for("evil")
        screen = tmux.wait_for("stdin")  # the title, drawn with the lines or a frame later
        assert "piped 1 ERROR" in screen
        assert "\\x1b]0;pwned\\x07 \\x1b[2J end" in screen  # shown, not obeyed
        screen = tmux.wait_for("[end of input]")
        assert "late" in screen
        tmux.send("g")  # the keyboard works although stdin is the pipe
        tmux.wait_for("paused")
        tmux.send("q")
        assert tmux.wait_exit() == 0


def test_missing_file_exits_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LAUNCHER, str(tmp_path / "nope.log")], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "nope.log: no such file" in result.stderr


def test_copy_reaches_the_terminal_clipboard_and_the_log_own_escapes_do_not(
    tmp_path: Path,
) -> None:
    # tmux with set-clipboard on takes OSC 52 as a terminal over SSH does: into its paste
    # buffer. The log's own OSC 52 and title sequences must never get there; the copy must.
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo \x1b]52;c;ZXZpbA==\x07 \x1b]0;pwned\x07\nthree\n")
    gate = tmp_path / "go"  # the console starts once the terminal takes OSC 52
    command = ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"', str(gate)]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    with Tmux.start(tmp_path, [*command, *LAUNCHER, str(log)], size=(200, 10), env=env) as tmux:
        tmux.tmux("set-option", "-g", "set-clipboard", "on")
        gate.touch()
        tmux.wait_for("three")
        tmux.wait_for("? Help")  # the footer: the keys are bound
        assert tmux.tmux("list-buffers") == ""
        assert tmux.tmux("display-message", "-p", "-t", "main", "#{pane_title}").strip() != "pwned"
        tmux.send("g", "v", "j", "y")
        tmux.wait_for("Copied 2 line(s)")
        assert tmux.tmux("show-buffer") == "one\ntwo \\x1b]52;c;ZXZpbA==\\x07 \\x1b]0;pwned\\x07"
        tmux.send("q")
        assert tmux.wait_exit() == 0
