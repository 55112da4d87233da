"""The installed console in a real terminal: tmux runs it, send-keys types, capture-pane reads.

Each test gets its own tmux server (tests/tmux.py), a clean environment (HOME and the XDG
directories in a temporary directory) and a fixed terminal size; the server is always killed.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tmux import Tmux

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


@pytest.fixture
def start_console(
    tmp_path: Path, opsconsole_bin: Path
) -> Iterator[Callable[[int, int, dict[str, str]], Tmux]]:
    """Start the installed console in a fresh tmux server of the given size and locale."""
    home = tmp_path / "home"
    env = {
        "HOME": str(home),
        **{
            f"XDG_{kind}_HOME": str(home / kind.lower())
            for kind in ("CONFIG", "DATA", "STATE", "CACHE")
        },
    }
    started: list[Tmux] = []

    def start(width: int, height: int, locale: dict[str, str]) -> Tmux:
        home.mkdir(exist_ok=True)
        terminal = Tmux.start(
            tmp_path, [str(opsconsole_bin)], size=(width, height), env={**env, **locale}
        )
        started.append(terminal)
        return terminal

    try:
        yield start
    finally:
        for terminal in started:
            terminal.close()


def _shows_host_and_cpu(screen: str) -> bool:
    return HOSTNAME in screen and CPU_FIGURE.search(screen) is not None


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_console_keys_in_a_real_terminal(
    start_console: Callable[[int, int, dict[str, str]], Tmux], width: int, height: int
) -> None:
    term = start_console(width, height, UTF8_LOCALE)
    screen = term.wait_for(_shows_host_and_cpu, STARTUP_TIMEOUT, "host name and CPU figure")
    assert DASHBOARD_ONLY_TEXT in screen
    assert HELP_ONLY_TEXT not in screen

    term.send(HELP_KEY)
    screen = term.wait_for(HELP_ONLY_TEXT, KEY_TIMEOUT, "help screen")
    assert HELP_BINDING_TEXT in screen

    term.send(CLOSE_KEY)
    term.wait_for(lambda s: HELP_ONLY_TEXT not in s, KEY_TIMEOUT, "help screen closed")

    term.send(PROCESS_VIEW_KEY)
    term.wait_for(
        lambda s: PROCESS_VIEW_TEXT in s and DASHBOARD_ONLY_TEXT not in s,
        KEY_TIMEOUT,
        "process view",
    )

    term.send(QUIT_KEY)
    status = term.wait_exit(KEY_TIMEOUT)
    assert status == 0, f"after {QUIT_KEY!r} the console's exit status is {status}"


def test_console_starts_in_a_non_utf8_locale(
    start_console: Callable[[int, int, dict[str, str]], Tmux],
) -> None:
    term = start_console(*SIZES[0], NON_UTF8_LOCALE)
    term.wait_for(_shows_host_and_cpu, STARTUP_TIMEOUT, "host name and CPU figure")
    assert term.exit_status() is None, "the console exited"
