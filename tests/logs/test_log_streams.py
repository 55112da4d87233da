"""Streams: ring buffers, raw pipes, journald's JSON and container LogLines batches."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from opsconsole.sources.events import LogLine, LogLines
from opsconsole.sources.log_index import MAX_LINE_BYTES, DocLine
from opsconsole.sources.log_levels import Level
from opsconsole.sources.log_sources import (
    JournalStream,
    RingDocument,
    feed_log_lines,
    follow_fd,
    parse_journal_entry,
    split_stream,
)

# Entries as `journalctl -o json` prints them (fields trimmed); one MESSAGE as an array of bytes,
# as journald sends values that are not UTF-8.
JOURNAL = [
    {
        "__REALTIME_TIMESTAMP": "1764000000000000",
        "PRIORITY": "6",
        "SYSLOG_IDENTIFIER": "sshd",
        "_PID": "812",
        "MESSAGE": "Accepted publickey for root",
    },
    {
        "__REALTIME_TIMESTAMP": "1764000001500000",
        "PRIORITY": "3",
        "SYSLOG_IDENTIFIER": "app",
        "_PID": "9",
        "MESSAGE": [98, 97, 100, 255, 0, 27, 91, 50, 74],
    },
    {
        "__REALTIME_TIMESTAMP": "1764000002000000",
        "PRIORITY": "4",
        "_COMM": "kernel",
        "MESSAGE": "a\nb",
    },
]


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_ring_keeps_the_last_lines_and_says_how_many_it_dropped() -> None:
    ring = RingDocument("s", capacity=3)
    ring.append_text(f"line {number}" for number in range(10))
    assert ring.line_count == 4
    assert "7 earlier lines dropped" in ring.line(0).text
    assert ring.line(0).marker
    assert [ring.line(index).text for index in range(1, 4)] == ["line 7", "line 8", "line 9"]


def test_log_lines_batches_feed_a_ring_with_their_drops() -> None:
    ring = RingDocument("container:podman:web")
    batch = LogLines(
        ts=1.0,
        host="h",
        source="podman",
        stream="container:podman:web",
        lines=(LogLine(text="hello", ts=5.0), LogLine(text="oops", stream="stderr")),
        dropped=12,
    )
    feed_log_lines(ring, batch)
    assert [ring.line(index).text for index in range(ring.line_count)] == [
        "[12 lines dropped by container:podman:web]",
        "hello",
        "oops",
    ]
    assert ring.line(1).ts == 5.0
    assert ring.line(2).origin == "stderr"


def test_split_stream_cuts_a_huge_line_without_keeping_it() -> None:
    chunks = [b"a\r\nb", b"c\n", b"x" * (1 << 20), b"x" * (1 << 20), b"\nend"]
    lines = [line for batch in split_stream(chunks) for line in batch]
    assert [line.text[:3] for line in lines] == ["a", "bc", "xxx", "end"]
    assert len(lines[2].text) == MAX_LINE_BYTES
    assert lines[2].cut == (2 << 20) - MAX_LINE_BYTES


def test_pipe_is_read_until_its_end() -> None:
    read, write = os.pipe()
    ring = RingDocument("stdin")
    follow_fd(read, ring)
    os.write(write, b"first\nsecond\n")
    wait_for(lambda: ring.line_count == 2)
    os.close(write)
    wait_for(lambda: ring.ended)
    assert ring.line(2).text == "[end of input]"


def test_journal_entries_parse() -> None:
    lines = [parse_journal_entry(json.dumps(entry)) for entry in JOURNAL]
    assert lines[0] == DocLine(
        "sshd[812]: Accepted publickey for root", ts=1764000000.0, level=Level.INFO
    )
    assert lines[1] is not None
    assert lines[1].text == "app[9]: bad\ufffd\x00\x1b[2J"
    assert lines[1].level == Level.ERROR
    assert lines[2] is not None and lines[2].text == "kernel: a ⏎ b"
    assert parse_journal_entry(b"not json") is None


def test_journal_stream_runs_a_process_through_the_parser(tmp_path: Path) -> None:
    recorded = tmp_path / "journal.json"
    recorded.write_text("".join(json.dumps(entry) + "\n" for entry in JOURNAL) + "garbage\n")
    ring = RingDocument("journal")
    JournalStream(ring, ["cat", str(recorded)]).start()
    wait_for(lambda: ring.ended)
    assert [ring.line(index).text.split(":")[0] for index in range(3)] == [
        "sshd[812]",
        "app[9]",
        "kernel",
    ]
    assert ring.line(3).text == "[journal ended]"


def test_journalctl_failure_is_shown_in_the_stream(tmp_path: Path) -> None:
    ring = RingDocument("journal")
    missing = tmp_path / "missing.journal"
    JournalStream(ring, ["journalctl", "-o", "json", "--file", str(missing)]).start()
    wait_for(lambda: ring.ended)
    last = ring.line(ring.line_count - 1).text
    assert last.startswith("[journal") and ring.line(ring.line_count - 1).marker


def test_missing_program_is_shown_in_the_stream() -> None:
    ring = RingDocument("journal")
    JournalStream(ring, [sys.executable + "-missing"]).start()
    assert ring.ended
    assert "cannot run" in ring.line(0).text
