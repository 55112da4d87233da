"""The console's terminal driver: keys still come through, and an idle console's input thread
sleeps instead of waking ten times a second (Textual's own polls, to see the exit flag and to
time out a lone ESC)."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver

from opsconsole.driver import QuietLinuxDriver, quiet_driver


class KeysSeen:
    """Stands in for the app: keeps the key events the driver sends."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.arrived = asyncio.Event()

    async def _post_message(self, message: Any) -> bool:
        if isinstance(message, events.Key):
            self.keys.append(message.key)
            self.arrived.set()
        return True


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal: (the side a user types into, the side the console reads)."""
    typed, console = pty.openpty()
    tty.setraw(console)  # as the driver sets the terminal: keys arrive as typed, not by line
    # The driver puts its own SIGTSTP/SIGCONT handlers in place, as for a real terminal.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        yield typed, console
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        os.close(typed)
        os.close(console)


def _wakeups(thread: threading.Thread) -> int:
    """How many times ``thread`` has gone to sleep and woken since it began."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    found = re.search(r"voluntary_ctxt_switches:\s+(\d+)", status)
    assert found, "no count of context switches in the thread's status"
    return int(found.group(1))


async def _next_key(app: KeysSeen, timeout: float = 2.0) -> str:
    await asyncio.wait_for(app.arrived.wait(), timeout)
    app.arrived.clear()
    return app.keys[-1]


async def test_keys_and_a_lone_escape_come_through_and_idle_costs_no_wakeups(
    terminal: tuple[int, int],
) -> None:
    typed, console = terminal
    app = KeysSeen()
    driver = QuietLinuxDriver(app, mouse=False)  # type: ignore[arg-type]
    driver.fileno = console
    # Started as start_application_mode starts it, which needs a whole terminal.
    thread = driver._key_thread = threading.Thread(target=driver.run_input_thread)
    thread.start()
    try:
        os.write(typed, b"q")
        assert await _next_key(app) == "q"
        # A lone ESC is the Escape key only once the parser times it out: the thread must
        # wake for that after input, then go back to sleep.
        os.write(typed, b"\x1b")
        assert await _next_key(app) == "escape"
        await asyncio.sleep(1.5)  # past the window after input
        before = _wakeups(thread)
        await asyncio.sleep(1.0)
        assert _wakeups(thread) - before <= 1  # Textual's own thread: 10
        os.write(typed, b"2")
        assert await _next_key(app) == "2"
    finally:
        driver.disable_input()  # wakes the thread and waits for it to stop
        stopped = not thread.is_alive()
        driver.close()
    assert stopped


def test_the_quiet_driver_is_used_only_in_place_of_textuals_linux_driver() -> None:
    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    from textual.drivers.headless_driver import HeadlessDriver

    assert quiet_driver(HeadlessDriver) is HeadlessDriver


def test_the_console_and_the_log_view_run_on_the_quiet_driver(tmp_path: Path) -> None:
    from opsconsole.app import OpsConsoleApp
    from opsconsole.config import Config
    from opsconsole.logs_cli import _app_class

    console = OpsConsoleApp(Config(), [], hostname="web-7", theme_dir=tmp_path)
    logs = _app_class()([], [])
    for app in (console, logs):
        assert app.get_driver_class() is QuietLinuxDriver
