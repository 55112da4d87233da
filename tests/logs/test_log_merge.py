"""A merged view follows every merged source: real files appended, a stream fed, in time order."""

from __future__ import annotations

import time
from pathlib import Path

from opsconsole.sources.events import LogLine, LogLines
from opsconsole.sources.log_index import FileDocument
from opsconsole.sources.log_sources import MergedDocument, RingDocument, feed_log_lines
from opsconsole.widgets.log_view import LogPane, LogView
from tests.logs.test_log_view_pilot import make_app, settle, shown, title, write_log


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def texts(document: MergedDocument) -> list[str]:
    return [f"{line.origin}|{line.text}" for _, line in document.lines(0)]


def web_and_db(tmp_path: Path, db_second: int) -> tuple[Path, Path]:
    """Two logs of one line each: web at 10:00:00, db at 10:00:``db_second``."""
    return (
        write_log(tmp_path, [b"2026-11-24T10:00:00Z web start"], "web.log"),
        write_log(tmp_path, [b"2026-11-24T10:00:%02dZ db ready" % db_second], "db.log"),
    )


async def merge(pilot, count: int) -> LogView:
    """Press M and wait for the ``count`` lines of the merge."""
    view = pilot.app.query_one(LogView)
    await pilot.press("M")
    await settle(pilot, view, lambda: view.document.line_count == count)
    return view


async def append_and_see(pilot, view: LogView, count: int, path: Path, *lines: str) -> None:
    """Append ``lines`` to ``path`` and wait until the view has ``count`` lines, drawn."""
    append(path, *lines)
    await settle(pilot, view, lambda: view.document.line_count == count)
    await pilot.pause(0.15)  # one frame to draw them


async def test_merged_view_follows_appended_files_in_time_order(tmp_path: Path) -> None:
    web, db = web_and_db(tmp_path, 1)
    app = make_app(web, db)
    async with app.run_test(size=(100, 12)) as pilot:
        view = await merge(pilot, 2)
        # db is written first, but web's new line is older: merged by time, not by arrival.
        append(db, "2026-11-24T10:00:05Z db slow query")
        await append_and_see(
            pilot, view, 5, web, "2026-11-24T10:00:04Z web GET /", "continued without a time"
        )
        assert [line.split()[0] + " " + line.split()[-1] for line in shown(view)[:5]] == [
            "web.log start",
            "db.log ready",
            "web.log /",
            "web.log time",  # a line without a time stays after the line before it
            "db.log query",
        ]
        assert view.follow and view.cursor == 4
        assert "line 5/5" in title(app) and "FOLLOW" in title(app)


async def test_a_late_line_goes_to_the_end_marked_late(tmp_path: Path) -> None:
    web, db = web_and_db(tmp_path, 10)
    app = make_app(web, db)
    async with app.run_test(size=(100, 12)) as pilot:
        view = await merge(pilot, 2)
        await append_and_see(pilot, view, 3, web, "2026-11-24T10:00:03Z web flushed late")
        last = shown(view)[2].strip()
        assert last.startswith("web.log (late) 2026-11-24T10:00:03Z web flushed late")
        assert "1 late line at the end" in title(app)


async def test_merge_of_a_file_and_a_stream_follows_both(tmp_path: Path) -> None:
    path = write_log(tmp_path, [b"2026-11-24T10:00:00Z file one"], "app.log")
    app = make_app(path)
    async with app.run_test(size=(100, 12)) as pilot:
        pane = app.query_one(LogPane)
        view = pane.view

        def batch(ts: float, text: str) -> LogLines:
            return LogLines(
                ts=ts,
                host="h",
                source="podman",
                stream="container:podman:web",
                lines=(LogLine(text=text, ts=ts),),
                dropped=0,
            )

        base = 1795514400.0  # 2026-11-24T10:00:00Z
        pane.feed(batch(base + 1, "stream one"))
        await merge(pilot, 2)
        pane.feed(batch(base + 3, "stream two"))
        await append_and_see(pilot, view, 4, path, "2026-11-24T10:00:02Z file two")
        assert [line.split()[-1] + line.split()[-2] for line in shown(view)[:4]] == [
            "onefile",
            "onestream",
            "twofile",
            "twostream",
        ]
        assert shown(view)[1].split()[0] == "container:podman:web"


def test_merge_is_bounded_and_says_what_it_dropped(tmp_path: Path) -> None:
    first = write_log(
        tmp_path, [f"2026-11-24T10:00:{second:02}Z a {second}".encode() for second in range(10)]
    )
    second = write_log(tmp_path, [b"2026-11-24T10:00:05Z b middle"], "b.log")
    merged = MergedDocument([FileDocument(str(first)), FileDocument(str(second))], limit=4)
    try:
        wait_for(lambda: merged.done)
        assert texts(merged) == [
            "|[7 earlier lines dropped: a merged view keeps the last 4]",
            "app.log|2026-11-24T10:00:06Z a 6",
            "app.log|2026-11-24T10:00:07Z a 7",
            "app.log|2026-11-24T10:00:08Z a 8",
            "app.log|2026-11-24T10:00:09Z a 9",
        ]
        for round_ in range(3):  # far more than the limit, appended while merged
            append(first, *(f"2026-11-24T10:01:{round_ * 10 + n:02}Z a new {n}" for n in range(10)))
        wait_for(lambda: merged.evicted == 37)
        assert merged.line_count == 5
        assert texts(merged)[-1] == "app.log|2026-11-24T10:01:29Z a new 9"
    finally:
        merged.close()


def test_a_ring_that_turned_under_a_merge_says_so(tmp_path: Path) -> None:
    ring = RingDocument("stream", capacity=2)
    feed_log_lines(
        ring,
        LogLines(
            ts=1.0,
            host="h",
            source="s",
            stream="stream",
            lines=tuple(LogLine(text=f"line {n}", ts=float(n)) for n in range(3)),
            dropped=0,
        ),
    )
    merged = MergedDocument([ring], settle=0.0)
    try:
        wait_for(lambda: merged.done)
        assert texts(merged) == ["stream|line 1", "stream|line 2"]
        ring.append_text(["line 3", "line 4"])  # pushes lines 1 and 2 out of the ring
        wait_for(lambda: merged.line_count == 4)
        assert texts(merged) == [
            "stream|[dropped from the stream's buffer]",
            "stream|[dropped from the stream's buffer]",
            "stream|line 3",
            "stream|line 4",
        ]
    finally:
        merged.close()


def test_a_truncated_file_is_merged_again(tmp_path: Path) -> None:
    path = write_log(tmp_path, [b"2026-11-24T10:00:00Z old one", b"2026-11-24T10:00:01Z old two"])
    other = write_log(tmp_path, [b"2026-11-24T09:00:00Z other"], "other.log")
    merged = MergedDocument([FileDocument(str(path)), FileDocument(str(other))])
    try:
        wait_for(lambda: merged.done and merged.line_count == 3)
        path.write_text("2026-11-24T11:00:00Z new\n")
        wait_for(lambda: merged.generation == 1 and merged.done and merged.line_count == 2)
        assert texts(merged) == [
            "other.log|2026-11-24T09:00:00Z other",
            "app.log|2026-11-24T11:00:00Z new",
        ]
    finally:
        merged.close()
