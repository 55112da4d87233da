"""The services the tests start die with the test process, even when it is killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.services import DIES_WITH_TESTS


def test_a_service_started_by_a_killed_test_process_dies_with_it() -> None:
    # A stand-in for pytest: starts a long sleep as the fixtures start a service, says its
    # pid, and is then killed with no chance to clean up.
    code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen({[*DIES_WITH_TESTS, 'sleep', '60']!r})\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    service = int(parent.stdout.readline())
    cmdline = Path(f"/proc/{service}/cmdline")
    while not cmdline.read_bytes().startswith(b"sleep"):  # setpriv has set the signal
        time.sleep(0.01)
    parent.send_signal(signal.SIGKILL)
    parent.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{service}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":  # killed, not yet reaped by init
            return
        time.sleep(0.02)
    raise AssertionError("the service outlived the process that started it")
