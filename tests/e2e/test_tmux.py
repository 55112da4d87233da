"""The installed console in a real terminal: tmux runs it, send-keys types, capture-pane reads.

Each test gets its own tmux server on a private socket, a clean environment (HOME and the XDG
directories in a temporary directory) and a fixed terminal size; the server is always killed.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# What the screen is expected to show; the UI's wording lives here, in one place.
HOSTNAME = socket.gethostname()
CPU_FIGURE = re.compile(r"CPU\b.*?\d+(?:\.\d+)?\s*%")
"""A CPU label followed on the same line by a percentage."""
HELP_ONLY_TEXT = "Everywhere"
"""The title of the help screen's group of global keys: on screen only while help is open."""
HELP_BINDING_TEXT = "Quit"
PROCESS_VIEW_TEXT = "PID"
"""The process table's column header."""
DASHBOARD_ONLY_TEXT = "LOAD"
"""The load average row: on the dashboard (which also has a process table), not the process view."""
HELP_KEY, CLOSE_KEY, PROCESS_VIEW_KEY, QUIT_KEY = "?", "Escape", "2", "q"

STARTUP_TIMEOUT = 10.0
KEY_TIMEOUT = 5.0
SIZES = [(120, 40), (80, 24)]

UTF8_LOCALE = {"LANG": "C.UTF-8"}
NON_UTF8_LOCALE = {"LANG": "C", "LC_ALL": "C"}


@dataclass
class Terminal:
    """One tmux server on a private socket, running the console in one pane."""

    socket_path: Path
    status_file: Path
    """Where the pane's shell writes the console's exit status when it exits."""
    target: str = "console"

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket_path), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def send(self, key: str) -> None:
        """Send one key: a tmux key name (``Escape``) or a literal character."""
        literal = ["-l"] if len(key) == 1 else []
        self.tmux("send-keys", "-t", self.target, *literal, key)

    def exit_status(self) -> int | None:
        """The console's exit status, or None while it runs."""
        # tmux's own #{pane_dead_status} was seen missing now and then: the process left as
        # a zombie the server never reaped. The shell around the console always waits.
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def wait_for(self, what: str, check: Callable[[str], bool], timeout: float) -> str:
        """Poll the screen until ``check`` holds; fail showing the last screen if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                status = self.exit_status()
                exited = "" if status is None else f" (the console exited with {status})"
                pytest.fail(f"no {what} after {timeout:.0f}s{exited}; screen:\n{screen.rstrip()}")
            time.sleep(0.1)


@pytest.fixture
def start_console(
    tmp_path: Path, opsconsole_bin: Path
) -> Iterator[Callable[[int, int, dict[str, str]], Terminal]]:
    """Start the installed console in a fresh tmux server of the given size and locale."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/test installs it)")
    terminal = Terminal(socket_path=tmp_path / "tmux.sock", status_file=tmp_path / "exit-status")
    conf = tmp_path / "tmux.conf"
    # remain-on-exit keeps the screen after the console exits: a failure shows its last words.
    conf.write_text("set-option -g remain-on-exit on\nset-option -g status off\n")
    home = tmp_path / "home"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "xterm-256color",
        **{
            f"XDG_{kind}_HOME": str(home / kind.lower())
            for kind in ("CONFIG", "DATA", "STATE", "CACHE")
        },
    }

    def start(width: int, height: int, locale: dict[str, str]) -> Terminal:
        home.mkdir(exist_ok=True)
        # env -i: the console sees only what a fresh login would give it, nothing of ours.
        console = ["env", "-i", *(f"{k}={v}" for k, v in {**env, **locale}.items())]
        console.append(str(opsconsole_bin))
        # sh runs the console ("$@") and writes its exit status to the file named as $0.
        wrapper = ["sh", "-c", '"$@"; echo $? >"$0"', str(terminal.status_file)]
        terminal.tmux(
            "-f", str(conf), "new-session", "-d", "-s", terminal.target,
            "-x", str(width), "-y", str(height), *wrapper, *console,
        )  # fmt: skip
        return terminal

    try:
        yield start
    finally:
        kill = ["tmux", "-S", str(terminal.socket_path), "kill-server"]
        subprocess.run(kill, capture_output=True, timeout=10, check=False)


def _shows_host_and_cpu(screen: str) -> bool:
    return HOSTNAME in screen and CPU_FIGURE.search(screen) is not None


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_console_keys_in_a_real_terminal(
    start_console: Callable[[int, int, dict[str, str]], Terminal], width: int, height: int
) -> None:
    term = start_console(width, height, UTF8_LOCALE)
    screen = term.wait_for("host name and CPU figure", _shows_host_and_cpu, STARTUP_TIMEOUT)
    assert DASHBOARD_ONLY_TEXT in screen
    assert HELP_ONLY_TEXT not in screen

    term.send(HELP_KEY)
    screen = term.wait_for("help screen", lambda s: HELP_ONLY_TEXT in s, KEY_TIMEOUT)
    assert HELP_BINDING_TEXT in screen

    term.send(CLOSE_KEY)
    term.wait_for("help screen closed", lambda s: HELP_ONLY_TEXT not in s, KEY_TIMEOUT)

    term.send(PROCESS_VIEW_KEY)
    term.wait_for(
        "process view",
        lambda s: PROCESS_VIEW_TEXT in s and DASHBOARD_ONLY_TEXT not in s,
        KEY_TIMEOUT,
    )

    term.send(QUIT_KEY)
    deadline = time.monotonic() + KEY_TIMEOUT
    while (status := term.exit_status()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 0, f"after {QUIT_KEY!r} the console's exit status is {status}"


def test_console_starts_in_a_non_utf8_locale(
    start_console: Callable[[int, int, dict[str, str]], Terminal],
) -> None:
    term = start_console(*SIZES[0], NON_UTF8_LOCALE)
    term.wait_for("host name and CPU figure", _shows_host_and_cpu, STARTUP_TIMEOUT)
    assert term.exit_status() is None, "the console exited"
