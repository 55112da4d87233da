"""journald against a real journal file (written by systemd-journal-remote, see conftest):
units, priorities, hostile messages, and a file followed while it is appended."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from opsconsole.sources.log_levels import Level
from opsconsole.sources.log_sources import RingDocument, journal_stream
from tests.logs.conftest import JournalWriter
from tests.tmux import Tmux

T0 = 1795514400.0  # 2026-11-24T10:00:00Z


def fill(writer: JournalWriter) -> None:
    writer.write("connection refused by db:5432", unit="web.service", priority=3, ts=T0)
    writer.write("slow query: 2.5 s", unit="db.service", priority=4, ts=T0 + 1, pid=200)
    writer.write("GET /health 200", unit="web.service", priority=6, ts=T0 + 2)
    writer.write("Traceback:\n  File x\nValueError", unit="web.service", priority=2, ts=T0 + 3)
    writer.write(b"evil \x1b]0;pwned\x07 \xff bytes", unit="db.service", priority=5, ts=T0 + 4)
    writer.wait_entries(5)


def read(stream_unit: str | None, path: Path, count: int) -> RingDocument:
    ring = RingDocument("journal")
    stream = journal_stream(ring, stream_unit, str(path))
    stream.start()
    try:
        deadline = time.monotonic() + 10
        while ring.line_count < count and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stream.stop()
    return ring


def test_a_journal_file_gives_units_priorities_and_times(journal_writer: JournalWriter) -> None:
    fill(journal_writer)
    ring = read(None, journal_writer.path, 5)
    lines = [ring.line(index) for index in range(5)]
    assert [line.text for line in lines[:4]] == [
        "web[100]: connection refused by db:5432",
        "db[200]: slow query: 2.5 s",
        "web[100]: GET /health 200",
        "web[100]: Traceback: ⏎   File x ⏎ ValueError",
    ]
    assert [line.level for line in lines] == [
        Level.ERROR,
        Level.WARN,
        Level.INFO,
        Level.FATAL,
        Level.NOTICE,
    ]
    assert [line.ts for line in lines] == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    # A message that is not UTF-8 comes as an array of bytes: decoded, escapes kept as data
    # (the view shows them as placeholders).
    assert lines[4].text == "db[100]: evil \x1b]0;pwned\x07 \ufffd bytes"


def test_a_unit_of_a_journal_file(journal_writer: JournalWriter) -> None:
    fill(journal_writer)
    ring = read("db.service", journal_writer.path, 2)
    texts = [line.text for _, line in ring.lines(0) if not line.marker]
    assert texts == ["db[200]: slow query: 2.5 s", "db[100]: evil \x1b]0;pwned\x07 \ufffd bytes"]


def test_logs_journal_file_follows_the_file_being_written(
    journal_writer: JournalWriter, tmp_path: Path
) -> None:
    fill(journal_writer)
    command = [
        sys.executable,
        "-m",
        "opsconsole",
        "logs",
        "--journal-file",
        str(journal_writer.path),
    ]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "TZ": "UTC"}
    with Tmux.start(tmp_path, command, size=(110, 15), env=env) as tmux:
        tmux.wait_for("connection refused by db:5432")
        screen = tmux.wait_for("line 5/5")  # the title, drawn with the lines or a frame later
        assert "db[200]: slow query: 2.5 s" in screen
        assert "evil \\x1b]0;pwned\\x07" in screen  # shown, not obeyed
        assert f"journal:{journal_writer.path}" in screen
        journal_writer.write("deploy finished", unit="web.service", priority=5, ts=T0 + 60)
        tmux.wait_for("deploy finished")
        assert "journal ended" not in tmux.wait_for("line 6/6")
        tmux.send("q")
        assert tmux.wait_exit() == 0
