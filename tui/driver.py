"""The terminal driver: Textual's own for Linux, with an input thread that sleeps while idle."""

from __future__ import annotations

import contextlib
import os
import selectors
import time
from codecs import getincrementaldecoder
from typing import Any

from textual import constants
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

INPUT_WINDOW = max(1.0, 4 * constants.ESCAPE_DELAY)
"""Seconds after input during which the input thread wakes every ``ESCAPE_DELAY``: a lone ESC
becomes the Escape key only when the parser is ticked after that delay."""


class QuietLinuxDriver(LinuxDriver):
    """Textual's Linux driver, whose input thread waits for input instead of polling for it.

    Textual's thread wakes ten times a second, to see whether the app is stopping and to time
    out a lone ESC: about a sixteenth of what an idle console costs the machine. This one waits
    for input or for ``disable_input``, which wakes it through a pipe, and ticks the parser
    only for ``INPUT_WINDOW`` after input, while an escape may be pending.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Made here, not in the thread, so that disable_input always has it to write to.
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def disable_input(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: the thread has a wake-up to read
            os.write(self._wake_write, b"\0")
        super().disable_input()

    def close(self) -> None:
        super().close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (as ``LinuxDriver.run_input_thread``)."""
        with contextlib.suppress(BlockingIOError):  # wake-ups left from an earlier stop
            while os.read(self._wake_read, 4096):
                pass
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        last_input = -INPUT_WINDOW
        try:
            while not self.exit_event.is_set():
                polling = time.monotonic() - last_input < INPUT_WINDOW
                for key, _mask in selector.select(constants.ESCAPE_DELAY if polling else None):
                    if key.fd != self.fileno:
                        continue  # woken to stop: exit_event is set, or is about to be
                    data = decode(os.read(self.fileno, 4096))
                    if not data:  # input closed (a pipe): nothing more will come from it
                        selector.unregister(self.fileno)
                        continue
                    last_input = time.monotonic()
                    for event in parser.feed(data):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


def quiet_driver(default: type[Driver]) -> type[Driver]:
    """The driver to run with: ``QuietLinuxDriver`` where Textual would use its Linux driver
    (not one chosen through ``TEXTUAL_DRIVER``, nor Windows' or the web's)."""
    return QuietLinuxDriver if default is LinuxDriver else default
