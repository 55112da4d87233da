"""A program in a real terminal, for end-to-end tests: tmux runs it, send-keys types.

Each ``Tmux`` is a server of its own on a private socket, running one command in a terminal of a
fixed size under a clean environment (``env -i``: only what the test gives, as a fresh login
would). The terminal stays on screen after the command exits, so a failure shows its last
words, and the command's exit status is kept. ``close`` kills the server.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import pytest

BASE_ENV: Mapping[str, str] = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "xterm-256color"}
"""What every command's environment has unless the test says otherwise."""
_TARGET = "main"
"""The one session, window and pane."""
_CONF = "set-option -g remain-on-exit on\nset-option -g status off\n"
"""The terminal stays after the command exits; no status bar takes a line of it."""


class Tmux:
    """One tmux server on a private socket, running one command in one pane.

    Start it with ``Tmux.start``; use it as a context manager, or call ``close``.
    """

    def __init__(self, directory: Path) -> None:
        """A driver for the server whose socket, config and exit status are in ``directory``."""
        self.socket = directory / "tmux.sock"
        """The server's socket."""
        self.status_file = directory / "exit-status"
        """Where the pane's shell writes the command's exit status when it exits."""
        self._conf = directory / "tmux.conf"

    @classmethod
    def start(
        cls,
        directory: Path,
        command: Sequence[str],
        *,
        size: tuple[int, int] = (80, 24),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Tmux:
        """Run ``command`` in a ``size`` (columns, lines) terminal of a new server.

        Args:
            directory: A directory of the test's own, for the socket and the exit status.
            command: The program and its arguments (no shell: use ``sh -c`` for one).
            size: The terminal's columns and lines.
            env: The whole environment of the command, over ``BASE_ENV``.
            cwd: The command's working directory (tmux's own when None).
        """
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (apt-get install tmux)")
        terminal = cls(directory)
        terminal._conf.write_text(_CONF)
        clean = ["env", "-i", *(f"{k}={v}" for k, v in {**BASE_ENV, **(env or {})}.items())]
        # sh runs the command ("$@") and writes its exit status to the file named as $0.
        wrapper = ["sh", "-c", '"$@"; echo $? >"$0"', str(terminal.status_file)]
        width, height = size
        where = ["-c", str(cwd)] if cwd is not None else []
        terminal.tmux(
            "-f", str(terminal._conf), "new-session", "-d", "-s", _TARGET,
            "-x", str(width), "-y", str(height), *where, *wrapper, *clean, *command,
        )  # fmt: skip
        return terminal

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this server; its output."""
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def screen(self) -> str:
        """The text on the terminal now."""
        return self.tmux("capture-pane", "-p", "-t", _TARGET)

    def send(self, *keys: str) -> None:
        """Press ``keys``: each a tmux key name (``Escape``, ``Enter``) or one character."""
        for key in keys:
            literal = ["-l"] if len(key) == 1 else []
            self.tmux("send-keys", "-t", _TARGET, *literal, key)

    def send_text(self, text: str) -> None:
        """Type ``text`` as it is."""
        self.tmux("send-keys", "-t", _TARGET, "-l", text)

    def wait_for(
        self, expected: str | Callable[[str], bool], timeout: float = 10.0, what: str = ""
    ) -> str:
        """The screen once it shows ``expected`` (a text, or a test of the screen).

        Fails the test after ``timeout`` seconds with ``what`` was awaited, whether the command
        exited, and the last screen.
        """
        check = expected if callable(expected) else lambda screen: expected in screen
        what = what or repr(expected)
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                status = self.exit_status()
                exited = "" if status is None else f" (the command exited with {status})"
                pytest.fail(f"no {what} after {timeout:.0f}s{exited}; screen:\n{screen.rstrip()}")
            time.sleep(0.05)

    def exit_status(self) -> int | None:
        """The command's exit status, or None while it runs."""
        # tmux's own #{pane_dead_status} was seen missing now and then: the process left as
        # a zombie the server never reaped. The shell around the command always waits.
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        """The command's exit status once it exits; None if it still runs after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (status := self.exit_status()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return status

    def pid(self) -> int:
        """The command's process id (the one child of the pane's shell)."""
        shell = int(self.tmux("display-message", "-p", "-t", _TARGET, "#{pane_pid}").strip())
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        if len(children) != 1:
            pytest.fail(f"the pane's shell has {len(children)} children, not the command's one")
        return int(children[0])

    def close(self) -> None:
        """Kill the server and whatever still runs in it."""
        kill = ["tmux", "-S", str(self.socket), "kill-server"]
        subprocess.run(kill, capture_output=True, timeout=10, check=False)

    def __enter__(self) -> Tmux:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
