"""Snapshots of the log view: levels, hostile bytes, JSON, search highlights (deterministic).

Update after a deliberate change with ``pytest tests/logs --snapshot-update`` and look at every
changed SVG before committing it.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from opsconsole.logs_cli import _app_class
from opsconsole.sources.log_index import FileDocument
from opsconsole.widgets.log_view import LogView

LINES = [
    b"2026-11-24T10:00:00Z INFO service starting on :8080",
    b"2026-11-24T10:00:01Z DEBUG config loaded from /etc/app.toml",
    b"2026-11-24T10:00:02Z WARN slow query took 2300 ms",
    b"2026-11-24T10:00:03Z ERROR request req-id=7f3a9c21 failed: connection refused",
    b"Traceback (most recent call last):",
    b'  File "app.py", line 12, in handle',
    b"ConnectionRefusedError: [Errno 111] Connection refused",
    b'{"level":"error","msg":"payment failed","ts":1764000004,"order":42}',
    b"<4>kernel: eth0 link flapping",
    b"title \x1b]0;pwned\x07 clear \x1b[2J\x1b[H c1 \xc2\x9b31m bad \xff\xfe nul \x00 end",
    b"crlf line\r",
    b"no final newline",
]


def log_app(tmp_path: Path):
    path = tmp_path / "app.log"
    path.write_bytes(b"\n".join(LINES))
    document = FileDocument(str(path), name="app.log")  # a fixed name: the title is stable
    document.start(follow_interval=None)
    return _app_class()([document], [])


def ready(*keys: str, time_mode: str = "utc"):
    async def run_before(pilot: Pilot[int]) -> None:
        view = pilot.app.query_one(LogView)
        for _ in range(100):
            if view.document.line_count == len(LINES):
                break
            await pilot.pause(0.05)
        view.time_mode = time_mode
        await pilot.press(*keys)
        for _ in range(100):  # the filter or the search runs in a thread
            await pilot.pause(0.05)
            count = view.document.line_count
            title = str(pilot.app.query_one("#log-title", Static).render())
            if not view.busy and getattr(view.document, "done", True) and f"/{count} " in title:
                break
        await pilot.pause(0.2)

    return run_before


def test_levels_and_hostile_bytes(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(log_app(tmp_path), terminal_size=(100, 18), run_before=ready())


def test_search_highlights_at_80x24(snap_compare, tmp_path: Path) -> None:
    keys = ("g", "slash", *"refused", "enter")
    assert snap_compare(
        log_app(tmp_path), terminal_size=(80, 24), run_before=ready(*keys, time_mode="raw")
    )


def test_error_filter_and_pretty_json(snap_compare, tmp_path: Path) -> None:
    keys = ("ampersand", *"level:error", "enter", "J")  # fields (the default) -> pretty
    assert snap_compare(log_app(tmp_path), terminal_size=(100, 20), run_before=ready(*keys))
