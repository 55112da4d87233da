"""The patterns pane in a small app: counts, the new marker, selection, hostile text, a snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult

from opsconsole.sources.events import LogLine, LogLines
from opsconsole.widgets.log_patterns import PatternsPane
from opsconsole.widgets.log_view import LogView
from opsconsole.widgets.row_table import RowTable
from tests.bundles.helpers import replayed_console, write_bundle
from tests.scripted import wait_for

T0 = 1_764_000_000.0  # 2025-11-24 16:00:00 UTC


def batch(ts: float, *texts: str) -> LogLines:
    return LogLines(
        ts=ts,
        host="h",
        source="file:/var/log/app.log",
        stream="file:/var/log/app.log",
        lines=tuple(LogLine(text=text) for text in texts),
    )


class PatternsApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[PatternsPane.PatternSelected] = []

    def compose(self) -> ComposeResult:
        yield PatternsPane(now=lambda: T0 + 90)

    def on_patterns_pane_pattern_selected(self, message: PatternsPane.PatternSelected) -> None:
        self.selected.append(message)


def feed(pane: PatternsPane) -> None:
    pane.add_lines(
        batch(
            T0,
            *(f"GET /api/items/{n} 200 in {n % 13}ms" for n in range(30)),
            "ERROR db: connection refused to 10.0.0.5:5432",
        )
    )
    pane.add_lines(batch(T0 + 60, *(f"GET /api/items/{n} 200 in 3ms" for n in range(10))))


def rows(pane: PatternsPane) -> list[tuple[str, ...]]:
    return [row.cells for row in pane.query_one(RowTable).rows]


async def test_counts_levels_and_selection_message() -> None:
    app = PatternsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        pane = app.query_one(PatternsPane)
        feed(pane)
        await pilot.pause()
        shown = rows(pane)
        assert [(r[1], r[2], r[6]) for r in shown] == [
            ("40", "", "GET <*> <*> in <*>"),
            ("1", "ERROR", "ERROR db: connection refused to <*>"),
        ]
        assert shown[0][3:5] == ("16:00:00", "16:01:00")
        pane.query_one(RowTable).focus()
        await pilot.press("j", "enter")
        await pilot.pause()
        [message] = app.selected
        assert message.template == "ERROR db: connection refused to <*>"
        assert message.regex.search("ERROR db: connection refused to 10.9.9.9:5432")
        assert not message.regex.search("GET /api/items/1 200 in 3ms")


async def test_patterns_after_the_moment_are_marked_new() -> None:
    app = PatternsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        pane = app.query_one(PatternsPane)
        feed(pane)
        pane.query_one(RowTable).focus()
        await pilot.press("m")  # now = T0 + 90: everything so far is old
        pane.add_lines(
            batch(T0 + 120, "WARN cache miss storm on shard 7", "GET /api/items/1 200 in 1ms")
        )
        await pilot.pause()
        marks = {r[6]: r[0] for r in rows(pane)}
        assert marks == {
            "GET <*> <*> in <*>": "",
            "ERROR db: connection refused to <*>": "",
            "WARN cache miss storm on shard <*>": "new",
        }
        assert "1 new since 16:01:30" in str(pane.query_one("#status").render())
        await pilot.press("n")
        assert [r[6] for r in rows(pane)] == ["WARN cache miss storm on shard <*>"]
        await pilot.press("n")
        assert len(rows(pane)) == 3


async def test_plain_strings_and_hostile_text_never_reach_the_terminal_raw() -> None:
    app = PatternsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        pane = app.query_one(PatternsPane)
        pane.add_lines(["\x1b]52;c;ZXZpbA==\x07\x1b[2J evil \x9b1m", "x" * 10_000_000, ""], ts=T0)
        await pilot.pause()
        screen = "".join(
            segment.text for y in range(20) for segment in pane.query_one(RowTable).render_line(y)
        )
        assert "\x1b" not in screen and "\x9b" not in screen
        assert "\\x1b]<*>;c;ZXZpbA==" in screen  # shown as a visible escape


async def test_the_pane_collects_log_lines_from_the_event_stream() -> None:
    app = PatternsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        pane = app.query_one(PatternsPane)
        pane.consume([batch(T0, "disk /dev/sda1 full", "disk /dev/sdb2 full")])
        await pilot.pause()
        assert [(r[1], r[6]) for r in rows(pane)] == [("2", "disk <*> full")]


async def test_a_worker_thread_can_feed_a_backfill() -> None:
    app = PatternsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        pane = app.query_one(PatternsPane)
        lines = [f"GET /api/items/{n} 200 in {n % 13}ms" for n in range(20_000)]
        added = await asyncio.to_thread(pane.add_lines_from_thread, lines, T0)
        await pilot.pause()
        assert added == 20_000
        assert [(r[1], r[6]) for r in rows(pane)] == [("20,000", "GET <*> <*> in <*>")]


def test_snapshot(snap_compare) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        pane = pilot.app.query_one(PatternsPane)
        feed(pane)
        pane.set_moment(T0 + 30)
        pane.add_lines(batch(T0 + 120, "WARN cache miss storm on shard 7"))
        await pilot.pause()

    assert snap_compare(PatternsApp(), terminal_size=(100, 12), run_before=run_before)


async def test_picking_a_pattern_in_the_console_filters_the_log_view(tmp_path: Path) -> None:
    # The whole console over a recorded stream: enter on a pattern of the Logs view shows,
    # in the log view above it, exactly the lines of that pattern.
    lines = [f"GET /api/items/{n} 200 in {n % 13}ms" for n in range(12)]
    lines[4] = "ERROR db: connection refused to 10.0.0.5:5432"
    lines[9] = "ERROR db: connection refused to 10.0.0.7:5432"
    bundle = write_bundle(tmp_path / "b", [batch(T0 + n, line) for n, line in enumerate(lines)])
    async with replayed_console(bundle) as (app, pilot, _):
        await pilot.press("5")
        pane = app.query_one(PatternsPane)
        await wait_for(lambda: len(rows(pane)) == 2, timeout=10)
        assert [row[6] for row in rows(pane)] == [
            "GET <*> <*> in <*>",
            "ERROR db: connection refused to <*>",
        ]
        pane.query_one(RowTable).focus()
        await pilot.press("j", "enter")
        view = app.query_one(LogView)
        await wait_for(lambda: view.document.line_count == 2, timeout=10)
        assert view.filter is not None and view.filter.text.startswith("pattern #")
        assert [view.document.line(n).text for n in range(2)] == [lines[4], lines[9]]
        assert view.has_focus
