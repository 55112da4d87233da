"""A real console in a real terminal (tmux) killed while the engineer types its notes.

kill -9 in the middle of typing loses at most the last second; SIGHUP (the SSH session dropped)
saves everything. The console is the launcher of this directory (the view on a store of its own,
as the app will mount it) run with ``python -m``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsconsole.store import Store
from tests.tmux import Tmux

ROOT = Path(__file__).resolve().parents[2]
CHUNK = "abcde"
CHUNK_EVERY = 0.1
"""Seconds between chunks: 50 characters a second, a fast typist."""


@dataclass
class Console:
    """The launcher in tmux, and the store it saves the notes in."""

    terminal: Tmux
    store: Path

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
    env = {
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [sys.executable, "-m", "tests.investigation.launcher", str(store)]
    command += ["--section", "notes"]
    with Tmux.start(tmp_path, command, size=(100, 30), env=env, cwd=ROOT) as terminal:
        terminal.wait_for("Notes of INC-1", timeout=15.0)
        yield Console(terminal, store)


def test_kill_9_while_typing_loses_at_most_the_last_second(console: Console) -> None:
    pid = console.terminal.pid()
    typed = ""
    sent_at: list[tuple[float, int]] = []
    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        console.terminal.send_text(CHUNK)
        typed += CHUNK
        sent_at.append((time.monotonic(), len(typed)))
        time.sleep(CHUNK_EVERY)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # mid-typing: the next chunk was due
    assert console.terminal.wait_exit() == 128 + signal.SIGKILL
    saved = console.saved()
    print(f"typed {len(typed)}, saved {len(saved)}, lost {len(typed) - len(saved)} characters")
    assert typed.startswith(saved), "the saved notes are not what was typed"
    # Everything typed more than a second before the kill is there.
    typed_a_second_before = max(n for at, n in sent_at if at <= killed_at - 1.0)
    assert len(saved) >= typed_a_second_before, (len(saved), typed_a_second_before, len(typed))
    with Store.open(console.store) as store:  # the store reopens cleanly after the crash
        assert store.notes(1).text == saved


def test_sighup_saves_everything(console: Console) -> None:
    pid = console.terminal.pid()
    typed = ""
    for attempt in range(5):
        chunk = f" {attempt}xyz"
        console.terminal.send_text(chunk)
        typed += chunk
        console.terminal.wait_for(chunk.strip(), timeout=15.0)
        if not console.saved().endswith(chunk):
            break  # the autosave has not run: the hang-up alone must save it
    else:
        pytest.fail("the autosave always won the race; the test proves nothing")
    os.kill(pid, signal.SIGHUP)
    assert console.terminal.wait_exit() is not None, "the console did not exit on SIGHUP"
    assert console.saved() == typed
