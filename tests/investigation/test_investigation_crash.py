"""A real console in a real terminal (tmux) killed while the engineer types its notes.

kill -9 in the middle of typing loses at most the last second; SIGHUP (the SSH session dropped)
saves everything. The console is the launcher of this directory (the view on a store of its own,
as the app will mount it) run with ``python -m``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsconsole.store import Store

ROOT = Path(__file__).resolve().parents[2]
CHUNK = "abcde"
CHUNK_EVERY = 0.1
"""Seconds between chunks: 50 characters a second, a fast typist."""


@dataclass
class Console:
    socket: Path
    store: Path

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "console")

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "console", "-l", text)

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "console", "#{pane_pid}").strip())

    def wait_screen(self, text: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            if time.monotonic() > deadline:
                pytest.fail(f"never showed {text!r}:\n{self.screen()}")
            time.sleep(0.05)

    def saved(self) -> str:
        db = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT text FROM notes WHERE incident_id = 1").fetchone()
        finally:
            db.close()
        return row[0] if row else ""


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    store = tmp_path / "investigations.db"
    with Store.open(store) as opened:
        opened.create_incident("crash test")
    conf = tmp_path / "tmux.conf"
    conf.write_text("set-option -g remain-on-exit on\nset-option -g status off\n")
    terminal = Console(socket=tmp_path / "tmux.sock", store=store)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [
        "env",
        "-i",
        *(f"{k}={v}" for k, v in env.items()),
        sys.executable,
        "-m",
        "tests.investigation.launcher",
        str(store),
        "--section",
        "notes",
    ]
    terminal.tmux(
        "-f",
        str(conf),
        "new-session",
        "-d",
        "-s",
        "console",
        "-x",
        "100",
        "-y",
        "30",
        "-c",
        str(ROOT),
        *command,
    )
    try:
        terminal.wait_screen("Notes of INC-1")
        yield terminal
    finally:
        subprocess.run(["tmux", "-S", str(terminal.socket), "kill-server"], check=False)


def wait_exit(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):  # exited; tmux reaps it when it gets to it
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} did not exit")


def test_kill_9_while_typing_loses_at_most_the_last_second(console: Console) -> None:
    pid = console.pid()
    typed = ""
    sent_at: list[tuple[float, int]] = []
    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        console.type(CHUNK)
        typed += CHUNK
        sent_at.append((time.monotonic(), len(typed)))
        time.sleep(CHUNK_EVERY)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # mid-typing: the next chunk was due
    wait_exit(pid)
    saved = console.saved()
    print(f"typed {len(typed)}, saved {len(saved)}, lost {len(typed) - len(saved)} characters")
    assert typed.startswith(saved), "the saved notes are not what was typed"
    # Everything typed more than a second before the kill is there.
    typed_a_second_before = max(n for at, n in sent_at if at <= killed_at - 1.0)
    assert len(saved) >= typed_a_second_before, (len(saved), typed_a_second_before, len(typed))
    with Store.open(console.store) as store:  # the store reopens cleanly after the crash
        assert store.notes(1).text == saved


def test_sighup_saves_everything(console: Console) -> None:
    pid = console.pid()
    typed = ""
    for attempt in range(5):
        chunk = f" {attempt}xyz"
        console.type(chunk)
        typed += chunk
        console.wait_screen(chunk.strip())
        if not console.saved().endswith(chunk):
            break  # the autosave has not run: the hang-up alone must save it
    else:
        pytest.fail("the autosave always won the race; the test proves nothing")
    os.kill(pid, signal.SIGHUP)
    wait_exit(pid)
    assert console.saved() == typed
