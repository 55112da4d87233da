"""The log view driven by keys (Pilot), over real files and rings."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from textual.widgets import Input, Static

from opsconsole.logs_cli import _app_class
from opsconsole.sources.events import LogLine, LogLines
from opsconsole.sources.log_index import FileDocument
from opsconsole.sources.log_sources import RingDocument
from opsconsole.widgets.log_view import LogPane, LogView, open_documents

HOSTILE = [
    b"csi \x1b[31mred\x1b[0m and \x1b[2J\x1b[H clear",
    b"osc title \x1b]0;pwned\x07 and clipboard \x1b]52;c;ZWNobyBoaQ==\x07",
    b"alt screen \x1b[?1049h cursor \x1b[10;10H \x1b[5A",
    b"c1 csi \xc2\x9b31m and raw c1 \x9b",
    b"dcs \x1bP1$r0m\x1b\\ st and bell \x07 backspace \x08",
    b"nul \x00 and invalid \xff\xfe utf-8",
]
# Anything a terminal would act on: ESC, C0 controls, DEL and C1 controls.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def write_log(tmp_path: Path, lines: list[bytes], name: str = "app.log") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def make_app(*paths: Path):
    documents = open_documents([str(path) for path in paths], on_error=print)
    return _app_class()(documents, [])


def title(app) -> str:
    return str(app.query_one("#log-title", Static).render())


def shown(view: LogView) -> list[str]:
    height = view.scrollable_content_region.height
    return [view.render_line(y).text.rstrip() for y in range(height)]


async def settle(pilot, view: LogView, condition=lambda: True) -> None:
    for _ in range(100):
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError("the view did not settle")


async def test_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    app = make_app(write_log(tmp_path, HOSTILE))
    async with app.run_test(size=(200, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == len(HOSTILE))
        for mode in ("raw", "utc"):
            view.time_mode = mode
            await pilot.pause()
            for y in range(len(HOSTILE)):
                for segment in view.render_line(y):
                    assert not CONTROL.search(segment.text), segment.text
        lines = shown(view)
        assert "\\x1b]0;pwned\\x07" in lines[1]
        assert "\\x1b]52;c;" in lines[1]
        assert "\\x1b[?1049h" in lines[2]
        assert "\\x9b31m" in lines[3]
        assert "\\x1bP1$r0m\\x1b\\" in lines[4]
        assert "\\x00" in lines[5] and "\ufffd\ufffd" in lines[5]


async def test_cut_line_says_so(tmp_path: Path) -> None:
    app = make_app(write_log(tmp_path, [b"a" * (10 << 20), b"short"]))
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 2)
        view.follow = False
        view.cursor = 0
        await pilot.pause()
        await settle(pilot, view, lambda: view.max_scroll_x > 4000)  # the width is measured
        view.scroll_to(x=view.max_scroll_x, animate=False)  # as the end key does
        await pilot.pause()
        text = "".join(shown(view))
        assert "[line cut: 10.0 MB more not shown]" in text


async def test_search_highlights_and_n_moves(tmp_path: Path) -> None:
    lines = [
        f"line {number} {'needle' if number % 50 == 7 else 'hay'}".encode() for number in range(500)
    ]
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 500)
        await pilot.press("g", "slash", *"needle", "enter")
        await settle(pilot, view, lambda: view.cursor == 7)
        await pilot.press("n")
        await settle(pilot, view, lambda: view.cursor == 57)
        await pilot.press("N")
        await settle(pilot, view, lambda: view.cursor == 7)
        y = view.cursor - round(view.scroll_y)
        match_style = view.get_component_rich_style("logview--match")
        assert any(
            segment.text == "needle"
            and segment.style is not None
            and segment.style.bgcolor == match_style.bgcolor
            for segment in view.render_line(y)
        )


async def test_a_search_from_the_last_line_finds_the_newest_match_and_says_which_way_it_looked(
    tmp_path: Path,
) -> None:
    # A log opens on its last line (following): the only matches are above, the newest first.
    lines = [
        f"line {number} {'needle' if number % 50 == 7 else 'hay'}".encode() for number in range(500)
    ]
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 500 and view.follow)
        await pilot.press("slash", *"needle", "enter")
        await settle(pilot, view, lambda: view.cursor == 457)
        await pilot.press("N")
        await settle(pilot, view, lambda: view.cursor == 407)
        await pilot.press("g", "N")
        await settle(pilot, view, lambda: bool(app._notifications))
        assert [note.message for note in app._notifications] == [
            "No more matches above for /needle (n looks down)"
        ]
        assert view.cursor == 0


async def test_filter_level_context_and_inverse(tmp_path: Path) -> None:
    lines = [
        b"2026-11-24T10:00:00Z INFO a",
        b"2026-11-24T10:00:01Z WARN b",
        b"2026-11-24T10:00:02Z ERROR c",
        b"2026-11-24T10:00:03Z INFO d",
        b"2026-11-24T10:00:04Z INFO e",
    ]
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 5)
        await pilot.press("ampersand", *"level:warn", "enter")
        await settle(pilot, view, lambda: view.document.line_count == 2)
        assert [line[-1] for line in shown(view)[:2]] == ["b", "c"]
        assert "filter: level:warn" in title(app)
        view.apply_filter(view.filter.parse("ERROR -C1"))
        await settle(pilot, view, lambda: view.document.line_count == 3)
        assert [line[-1] for line in shown(view)[:3]] == ["b", "c", "d"]
        view.apply_filter(view.filter.parse("!INFO since:2026-11-24T10:00:02Z"))
        await settle(pilot, view, lambda: view.document.line_count == 1)
        assert shown(view)[0].endswith("c")
        view.apply_filter(None)
        await settle(pilot, view, lambda: view.document.line_count == 5)


async def test_follow_takes_new_lines_and_pause_holds(tmp_path: Path) -> None:
    path = write_log(tmp_path, [b"first"])
    app = make_app(path)
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 1)
        with path.open("ab") as out:
            out.write(b"".join(b"new %d\n" % number for number in range(100)))
        # A hundred lines at once are a flood: drawn within a quarter of a second.
        await settle(pilot, view, lambda: shown(view)[-1] == " new 99")
        assert "FOLLOW" in title(app)
        await pilot.press("f")
        assert "paused" in title(app)
        with path.open("ab") as out:
            out.write(b"later\n")
        await settle(pilot, view, lambda: view.document.line_count == 102)
        assert shown(view)[-1] == " new 99"
        await pilot.press("G")
        await pilot.pause(0.1)
        assert shown(view)[-1] == " later"


async def test_follow_keeps_the_scrollbar_and_keys_right_as_lines_arrive(tmp_path: Path) -> None:
    # Following sizes the view without a layout of the screen: the scrollbar's thumb must
    # still track the lines, the view stay at the end, and a key scroll up from there.
    path = write_log(tmp_path, [b"line %d" % number for number in range(50)])
    app = make_app(path)
    async with app.run_test(size=(80, 12)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 50)
        for step in range(3):
            with path.open("ab") as out:
                out.write(b"".join(b"more %d %d\n" % (step, n) for n in range(40)))
            total = 50 + 40 * (step + 1)
            await settle(
                pilot,
                view,
                lambda total=total: (
                    view.virtual_size.height == total and view.scroll_y == view.max_scroll_y
                ),
            )
            assert view.vertical_scrollbar.window_virtual_size == total
            assert shown(view)[-1] == f" more {step} 39"
        await pilot.press("pageup", "pageup")  # the first lands on the top line shown
        await pilot.pause(0.1)
        assert "paused" in title(app)
        assert shown(view)[-1] != " more 2 39"
        assert view.scroll_y < view.max_scroll_y


async def test_bookmarks_errors_and_save(tmp_path: Path) -> None:
    lines = [b"ok %d" % number for number in range(100)]
    lines[30] = b"ERROR one"
    lines[70] = b"ERROR two"
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(80, 12)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 100)
        await pilot.press("g", "e")
        await settle(pilot, view, lambda: view.cursor == 30)
        await pilot.press("m", "e")
        await settle(pilot, view, lambda: view.cursor == 70)
        await pilot.press("E")
        await settle(pilot, view, lambda: view.cursor == 30)
        await pilot.press("g", "u")
        await settle(pilot, view, lambda: view.cursor == 30)
        assert view.render_line(view.cursor - round(view.scroll_y)).text.startswith("◆")
        # save exactly what the filter shows
        view.apply_filter(
            view.filter.parse("ERROR")
            if view.filter
            else __import__(
                "opsconsole.widgets.log_view", fromlist=["FilterSpec"]
            ).FilterSpec.parse("ERROR")
        )
        await settle(pilot, view, lambda: view.document.line_count == 2)
        target = tmp_path / "shown.log"
        await pilot.press("s")
        prompt = app.query_one(Input)
        prompt.value = str(target)
        await pilot.press("enter")
        await settle(pilot, view, target.exists)
        await pilot.pause(0.2)
        assert target.read_text() == "ERROR one\nERROR two\n"


async def test_merge_by_time_and_trace(tmp_path: Path) -> None:
    web = write_log(
        tmp_path,
        [b"2026-11-24T10:00:00Z web start", b"2026-11-24T10:00:02Z web req-id=abc123 GET"],
        "web.log",
    )
    db = write_log(
        tmp_path,
        [b"2026-11-24T10:00:01Z db ready", b"2026-11-24T10:00:03Z db req-id=abc123 query"],
        "db.log",
    )
    app = make_app(web, db)
    async with app.run_test(size=(100, 12)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 2)
        await pilot.press("M")
        await settle(pilot, view, lambda: view.document.line_count == 4)
        assert [line.split()[0] + line.split()[2] for line in shown(view)[:4]] == [
            "web.logweb",
            "db.logdb",
            "web.logweb",
            "db.logdb",
        ]
        app.query_one(LogPane).trace("abc123")
        await settle(pilot, view, lambda: view.document.line_count == 2)
        assert all("abc123" in line for line in shown(view)[:2])


async def test_container_log_lines_open_in_the_view() -> None:
    app = _app_class()([], [])
    async with app.run_test(size=(80, 10)) as pilot:
        pane = app.query_one(LogPane)
        pane.feed(
            LogLines(
                ts=1.0,
                host="h",
                source="podman",
                stream="container:podman:web",
                lines=(LogLine(text="hello \x1b[31mred"),),
                dropped=0,
            )
        )
        view = pane.view

        def opened() -> bool:  # the title may follow the lines by a frame under load
            return shown(view)[0] == " hello \\x1b[31mred" and "container:podman:web" in title(app)

        await settle(pilot, view, lambda: view.document.line_count == 1 and opened())
        assert shown(view)[0] == " hello \\x1b[31mred"
        assert "container:podman:web" in title(app)


async def test_ring_drops_are_shown(tmp_path: Path) -> None:
    ring = RingDocument("stdin", capacity=5)
    app = _app_class()([ring], [])
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(LogView)
        ring.append_text(f"line {number}" for number in range(20))
        await settle(
            pilot,
            view,
            lambda: view.document.line_count == 6 and "15 earlier lines dropped" in shown(view)[0],
        )
        assert "15 earlier lines dropped" in shown(view)[0]
        assert shown(view)[5] == " line 19"


def test_file_document_is_a_document(tmp_path: Path) -> None:
    assert FileDocument(str(write_log(tmp_path, [b"x"]))).name.endswith("app.log")


async def test_copy_sends_the_safe_text_over_osc52(tmp_path: Path) -> None:
    app = make_app(write_log(tmp_path, [b"one", b"two \x1b[31m", b"three"]))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 3)
        await pilot.press("g", "v", "j", "y")
        assert app.clipboard == "one\ntwo \\x1b[31m"
        await pilot.press("G", "y")
        assert app.clipboard == "three"


async def test_wrap_shows_a_long_line_on_several_rows(tmp_path: Path) -> None:
    app = make_app(write_log(tmp_path, [b"x" * 150 + b"END", b"short"]))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 2)
        assert not any("END" in line for line in shown(view))
        await pilot.press("w")
        await pilot.pause()
        rows = shown(view)
        assert rows[0].startswith(" x") and rows[1].endswith("END") and rows[2] == " short"


async def test_time_range_filter_and_histogram(tmp_path: Path) -> None:
    lines = [
        f"2026-11-24T10:{minute:02}:00Z {'INFO' if minute % 10 else 'ERROR'} m{minute}".encode()
        for minute in range(60)
    ]
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 60)
        await pilot.press(
            "ampersand", *"since:2026-11-24T10:30Z until:2026-11-24T10:39:00Z", "enter"
        )
        await settle(pilot, view, lambda: view.document.line_count == 10)
        assert shown(view)[0].endswith("m30")
        view.apply_filter(None)
        await pilot.press("H")
        from opsconsole.widgets.log_histogram import LogHistogram

        histogram = app.query_one(LogHistogram)
        await settle(pilot, view, lambda: histogram.summary != "counting…")
        rows = histogram.summary.split("\n")
        assert rows[0].startswith(" error") and rows[1].startswith("  warn")
        assert rows[2].startswith(" other") and rows[2][7:].strip()
        assert "2026-11-24" in rows[3] or "2026-11-24" in rows[-1]
        # The histogram is of the lines shown: a filter opened under it is counted again.
        await pilot.press("ampersand", *"ERROR", "enter")

        def errors_only() -> bool:
            rows = histogram.summary.split("\n")
            return len(rows) == 4 and bool(rows[0][7:].strip()) and not rows[2][7:].strip()

        await settle(pilot, view, errors_only)


async def test_histogram_counts_on_as_a_followed_log_grows(tmp_path: Path) -> None:
    path = write_log(tmp_path, [f"2026-11-24T10:{m:02}:00Z INFO m{m}".encode() for m in range(30)])
    app = make_app(path)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == 30)
        await pilot.press("H")
        from opsconsole.widgets.log_histogram import LogHistogram

        histogram = app.query_one(LogHistogram)
        await settle(pilot, view, lambda: "10:29:00" in histogram.summary)
        assert not histogram.summary.split("\n")[0][7:].strip()  # no errors yet
        with path.open("ab") as log:  # the service starts failing an hour later
            log.write(b"".join(f"2026-11-24T11:{m:02}:00Z ERROR e{m}\n".encode() for m in range(5)))
        await settle(pilot, view, lambda: "11:04:00" in histogram.summary)
        rows = histogram.summary.split("\n")
        assert rows[0].rstrip().endswith("█") and rows[2][7:].strip()  # errors last, info before


async def test_logs_tab_takes_log_lines_from_the_event_stream(tmp_path: Path) -> None:
    from textual.app import App

    from opsconsole.widgets.log_view import LogsTab

    class Host(App[None]):
        def compose(self):
            yield LogsTab(id="logs")

    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        tab = app.query_one(LogsTab)
        batch = LogLines(
            ts=1.0,
            host="h",
            source="podman",
            stream="container:podman:db",
            lines=(LogLine(text="ERROR db down"),),
        )
        tab.consume([batch])
        view = tab.pane.view
        await settle(pilot, view, lambda: view.document.line_count == 1)
        assert shown(view)[0] == " ERROR db down"
        web = LogLines(
            ts=2.0,
            host="h",
            source="podman",
            stream="container:podman:web",
            lines=(LogLine(text="web up"),),
        )
        tab.consume([web])
        assert view.base.name == "container:podman:db"  # a new stream does not steal the view
        tab.pane.show_stream("container:podman:web")
        await settle(pilot, view, lambda: view.base.name == "container:podman:web")
        await settle(pilot, view, lambda: shown(view)[0] == " web up")
        tab.open_paths([str(write_log(tmp_path, [b"from a file"]))])
        await settle(pilot, view, lambda: shown(view)[0] == " from a file")


async def test_keys_typed_at_once_reach_the_prompt(tmp_path: Path) -> None:
    # The prompt is mounted after the first frame: a search typed before then is not lost.
    app = make_app(write_log(tmp_path, [b"one", b"needle two", b"three"]))
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.press("g", "slash", *"needle", "enter")
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.cursor == 1 and not view.busy)
        assert "/needle" in title(app)
        await pilot.press("H")  # the histogram, mounted with the prompt
        assert app.query_one("#log-histogram").has_class("-open")


async def test_time_cycles_raw_utc_local_with_its_zone_and_hidden(tmp_path: Path) -> None:
    # The local zone is the host's own, from the system's zone database: India's, which has
    # no daylight saving, so the figures hold all year.
    lines = [b"2026-11-24T10:00:00Z INFO start", b"Nov 24 10:00:05 host app: syslog line"]
    app = make_app(write_log(tmp_path, lines))
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        async with app.run_test(size=(80, 8)) as pilot:
            view = app.query_one(LogView)
            await settle(pilot, view, lambda: view.document.line_count == 2)
            assert shown(view)[:2] == [
                " 2026-11-24T10:00:00Z INFO start",
                " Nov 24 10:00:05 host app: syslog line",
            ]
            await pilot.press("T")
            await settle(pilot, view, lambda: "time: utc" in title(app))
            assert shown(view)[0] == " 2026-11-24 10:00:00.000 UTC INFO start"
            # A syslog time has no zone: it is the host's local time, 04:30:05 in UTC.
            assert shown(view)[1].startswith(f" {time.localtime().tm_year}-11-24 04:30:05.000 UTC")
            await pilot.press("T")
            await settle(pilot, view, lambda: "time: local" in title(app))
            assert shown(view)[0] == " 2026-11-24 15:30:00.000 IST INFO start"
            assert shown(view)[1].endswith("-11-24 10:00:05.000 IST host app: syslog line")
            await pilot.press("T")
            await settle(pilot, view, lambda: "time: hidden" in title(app))
            assert shown(view)[:2] == [" INFO start", " host app: syslog line"]
            await pilot.press("T")
            await settle(pilot, view, lambda: "time:" not in title(app))
            assert shown(view)[0] == " 2026-11-24T10:00:00Z INFO start"
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


async def test_several_files_open_one_at_a_time_and_brackets_switch(tmp_path: Path) -> None:
    web = write_log(tmp_path, [b"web one", b"web two"], "web.log")
    db = write_log(tmp_path, [b"db one"], "db.log")
    app = make_app(web, db)
    async with app.run_test(size=(80, 8)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: title(app).startswith(f" [1/2] {web} │ line 2/2"))
        assert shown(view)[:2] == [" web one", " web two"]
        await pilot.press("right_square_bracket")
        await settle(pilot, view, lambda: title(app).startswith(f" [2/2] {db} │ line 1/1"))
        assert shown(view)[0] == " db one"
        await pilot.press("right_square_bracket")  # round to the first again
        await settle(pilot, view, lambda: shown(view)[:2] == [" web one", " web two"])
        await pilot.press("left_square_bracket")
        await settle(pilot, view, lambda: title(app).startswith(f" [2/2] {db}"))


async def test_the_title_says_when_a_filter_has_read_everything(tmp_path: Path) -> None:
    # Every line the filter keeps comes first: it reads on through the rest with nothing more
    # to show, and the title must still drop "filtering" once it has read everything.
    lines = [b"ERROR early %d" % n for n in range(10)]
    lines += [b"INFO late %d" % n for n in range(150_000)]
    app = make_app(write_log(tmp_path, lines))
    async with app.run_test(size=(120, 10)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, view, lambda: view.document.line_count == len(lines))
        await pilot.press("ampersand", *"level:error", "enter")
        await settle(pilot, view, lambda: view.document.line_count == 10)
        await settle(pilot, view, lambda: getattr(view.document, "done", False))
        await settle(pilot, view, lambda: "filtering" not in title(app))
        assert "line 10/10 │ filter: level:error" in title(app)


def test_the_logs_app_styles_with_the_chosen_theme_s_variables() -> None:
    # LogsApp gives App.__init__ no variables (its theme is chosen after): the stylesheet
    # must still get every variable of the chosen theme, as the app would generate them.
    from textual.app import App

    for theme in (None, "opsconsole-warroom", "textual-light"):
        app = _app_class()([], [], theme=theme)
        assert app.theme == (theme or "opsconsole-dark")
        expected = App.get_css_variables(app)
        assert app.get_css_variables() == expected
        assert app.stylesheet._variables == expected
        assert expected["primary"] and app.theme_variables == expected
