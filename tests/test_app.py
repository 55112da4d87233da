"""The app shell as a user drives it: views, help, freeze, themes, palette, size, quit."""

from __future__ import annotations

import re
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import TabbedContent

from opsconsole.app import MIN_HEIGHT, MIN_WIDTH, VIEWS, OpsConsoleApp
from opsconsole.config import Config
from opsconsole.help import HelpScreen
from opsconsole.sources.events import HostSample, ProcessRow, ProcessTable, SourceState
from opsconsole.themes.builtin import builtin_names
from opsconsole.widgets.header import ConsoleHeader
from opsconsole.widgets.host_detail import HostDetail
from opsconsole.widgets.host_overview import HostOverview
from opsconsole.widgets.process_table import ProcessTablePane
from opsconsole.widgets.row_table import RowTable
from tests.scripted import ScriptedSource, wait_for


def host_events(n: int, start: float = 1_700_000_000.0) -> list:
    events = []
    for i in range(n):
        ts = start + i
        events.append(
            HostSample(
                ts=ts,
                host="web-7",
                source="host",
                boot_time=start - 3 * 86400,
                cpu_count=2,
                cpu_percent=10.0 + i,
                per_core=(10.0 + i, 12.0),
                load=(0.5, 0.4, 0.3),
                mem_total=8 << 30,
                mem_used=2 << 30,
                mem_available=6 << 30,
                mem_percent=25.0,
            )
        )
        events.append(
            ProcessTable(
                ts=ts,
                host="web-7",
                source="host",
                total=2,
                rows=(
                    ProcessRow(
                        pid=1,
                        user="root",
                        name="init",
                        command="/sbin/init",
                        state="S",
                        cpu_percent=0.0,
                        rss=4 << 20,
                    ),
                    ProcessRow(
                        pid=4242,
                        user="www",
                        name="nginx",
                        command="nginx: worker [red]process[/red]",
                        state="R",
                        cpu_percent=55.0 + i,
                        rss=64 << 20,
                    ),
                ),
            )
        )
    return events


def make_app(tmp_path: Path, n: int = 3, **config: object) -> OpsConsoleApp:
    source = ScriptedSource(host_events(n), id="host", hold_open=True)
    return OpsConsoleApp(Config(**config), [source], hostname="web-7", theme_dir=tmp_path)


def screen_text(app: OpsConsoleApp) -> str:
    return "\n".join(
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    )


async def wait_live(app: OpsConsoleApp, pilot) -> None:
    await wait_for(lambda: app.hub.latest("host.processes") is not None)
    await wait_screen(app, pilot, "4242")


async def wait_screen(app: OpsConsoleApp, pilot, *texts: str, timeout: float = 5.0) -> str:
    """The screen's text once it shows every one of ``texts`` (fails after ``timeout``)."""
    for _ in range(int(timeout / 0.05)):
        text = screen_text(app)
        if all(t in text for t in texts):
            return text
        await pilot.pause(0.05)
    raise AssertionError(f"screen never showed {texts}:\n{screen_text(app)}")


async def test_dashboard_shows_host_figures_and_processes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(app, pilot)
        text = screen_text(app)
        assert "web-7" in text and "up 3d" in text
        assert "LIVE" in text
        assert "nginx: worker [red]process" in text  # markup shown literally
        assert "CPU" in text


async def test_number_keys_switch_views(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        views = app.query_one("#views", TabbedContent)
        for view, _, key in (*VIEWS[1:], VIEWS[0]):
            await pilot.press(key)
            assert views.active == view
        await pilot.press("0")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "host" in text and "LIVE" in text and "DROPPED" in text


async def test_hidden_view_is_brought_up_to_date_when_shown(tmp_path: Path) -> None:
    app = make_app(tmp_path, n=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        await pilot.press("2")
        await pilot.pause(0.2)
        assert "4242" in screen_text(app)


async def test_help_lists_every_key_group_and_closes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in ("Everywhere", "Quit", "Freeze", "Help", "Processes", "Filter"):
            assert expected in text, expected
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_freeze_holds_the_screen_while_collection_goes_on(tmp_path: Path) -> None:
    app = make_app(tmp_path, n=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        await pilot.press("f")
        header = app.query_one(ConsoleHeader)
        assert header.display_frozen
        overview = app.query_one(HostOverview)
        assert overview.frozen
        before = screen_text(app)
        app.deliver(host_events(1, start=1_700_000_100.0))  # a new sample arrives while frozen
        await pilot.pause(0.2)
        assert "FROZEN" in screen_text(app)
        assert _cpu_line(screen_text(app)) == _cpu_line(before)
        await pilot.press("f")
        await pilot.pause(0.2)
        assert not overview.frozen
        assert "FROZEN" not in screen_text(app)


async def test_live_clock_moves_with_each_sample_and_on_its_own_without_them(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, n=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        header = app.query_one(ConsoleHeader)
        line = header.render_line(0).text
        assert "web-7" in line and " up " in line and "LIVE" in line
        # A sample shows the clock in the frame that draws the sample: a second later, the
        # next one moves it at once (the clock's own tick waits 1.5 s for a sample).
        await pilot.pause(1.05)
        app.deliver(host_events(1, start=1_700_000_100.0))
        await pilot.pause(0.05)
        moved = header.render_line(0).text
        assert _clock(moved) != _clock(line)
        # No sample arrives, and the clock still moves on.
        for _ in range(30):
            await pilot.pause(0.1)
            if _clock(header.render_line(0).text) != _clock(moved):
                break
        assert _clock(header.render_line(0).text) != _clock(moved)


def _clock(line: str) -> str:
    found = re.search(r"\d\d:\d\d:\d\d", line)
    assert found, line
    return found.group()


def _cpu_line(text: str) -> str:
    return next(line for line in text.splitlines() if "CPU" in line)


async def test_theme_key_cycles_through_builtin_themes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = [app.theme]
        for _ in builtin_names()[1:]:
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == builtin_names()


async def test_unknown_theme_falls_back_with_a_notification(tmp_path: Path) -> None:
    app = make_app(tmp_path, theme="no-such-theme")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == builtin_names()[0]
        assert any("no-such-theme" in str(n.message) for n in app._notifications)


async def test_broken_user_theme_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('name = "mine"\nprimary = "not-a-colour"\n')
    app = make_app(tmp_path, theme="mine")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == builtin_names()[0]
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "broken.toml" in messages


async def test_command_palette_offers_every_action(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for expected in (
            "Everywhere: Dashboard",
            "Everywhere: Processes",
            "Everywhere: Host",
            "Everywhere: Sources",
            "Everywhere: Help",
            "Everywhere: Freeze",
            "Everywhere: Theme",
            "Processes: Sort by memory",
            "Processes: Filter",
            "Quit",
        ):
            assert expected in titles, expected
        await pilot.press("colon")
        await pilot.pause(0.1)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Everywhere: Host")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.query_one("#views", TabbedContent).active == "host"


async def test_too_small_terminal_says_so_and_recovers(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.resize_terminal(MIN_WIDTH - 20, MIN_HEIGHT - 6)
        await pilot.pause(0.1)
        assert "Terminal too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert "Terminal too small" not in screen_text(app)
        assert "web-7" in screen_text(app)


async def test_resize_storm_leaves_a_working_console(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        for i in range(60):
            await pilot.resize_terminal(20 + (i * 37) % 180, 5 + (i * 13) % 50)
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        await pilot.press("2")
        assert app.query_one("#views", TabbedContent).active == "processes"
        assert "PID" in screen_text(app)


async def test_process_table_is_updated_in_place(tmp_path: Path) -> None:
    app = make_app(tmp_path, n=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        table = app.query_one("#dashboard-processes", ProcessTablePane).query_one(RowTable)
        rows_before, built = table.rows, table.rendered_rows
        app.deliver(host_events(1, start=1_700_000_100.0))
        await pilot.pause(0.2)
        assert table.rows == rows_before  # the same processes, the same text
        assert table.rendered_rows == built  # so no row was drawn again


async def test_dashboard_table_scrolls_by_keys_without_a_scrollbar(tmp_path: Path) -> None:
    app = make_app(tmp_path, n=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        rows = tuple(
            ProcessRow(
                pid=pid,
                user="root",
                name=f"w{pid}",
                command=f"worker-{pid}",
                state="sleeping",
                cpu_percent=0.0,
                rss=1 << 20,
            )
            for pid in range(1000, 1100)
        )
        table_event = ProcessTable(
            ts=1_700_000_100.0, host="web-7", source="host", total=100, rows=rows
        )
        app.deliver([table_event])
        await pilot.pause(0.2)
        table = app.query_one("#dashboard-processes", ProcessTablePane).query_one(RowTable)
        assert table.vertical_scrollbar.size.width == 0  # the top of the list, as in top
        assert "worker-1000" not in screen_text(app)  # lowest pid last among equals
        await pilot.press("G")
        await pilot.pause(0.1)
        assert "worker-1000" in screen_text(app)
        assert "100 of 100 processes" in screen_text(app)


async def test_the_visible_view_has_the_keyboard(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        dashboard_table = app.query_one("#dashboard-processes").query_one(RowTable)
        assert app.focused is dashboard_table  # j/k work at once, no tab needed
        await pilot.press("2")
        await pilot.pause(0.1)
        assert app.focused is app.query_one("#processes-table").query_one(RowTable)
        await pilot.press("3")
        await pilot.pause(0.1)
        assert app.focused is app.query_one(HostDetail)


async def test_replay_source_shows_replay_badge(tmp_path: Path) -> None:
    from opsconsole.sources.events import encode
    from opsconsole.sources.replay import ReplaySource

    path = tmp_path / "rec.jsonl"
    path.write_bytes(b"".join(encode(e) + b"\n" for e in host_events(3)))
    app = OpsConsoleApp(
        Config(), [ReplaySource(path, speed=0)], hostname="replay", theme_dir=tmp_path
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.hub.statuses()[0].state is SourceState.ENDED)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "REPLAY" in text and "web-7" in text
        assert "2023-11-14 22:13:22 UTC" in text  # the recorded time, not the wall clock


async def test_q_quits(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_code in (0, None)
    assert not app.is_running


async def test_pane_actions_run_from_the_palette_on_the_visible_pane(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        await pilot.press("2")
        await pilot.press("ctrl+p")
        await pilot.press(*"Sort by memory")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.query_one("#processes-table", ProcessTablePane).sort_key == "memory"
        assert app.query_one("#dashboard-processes", ProcessTablePane).sort_key == "cpu"


async def test_theme_key_includes_user_themes_but_not_textuals(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#336699"\n')
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for _ in range(len(builtin_names()) + 2):
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == [*builtin_names()[1:], "mine", builtin_names()[0], builtin_names()[1]]


async def test_ctrl_r_records_the_stream_into_a_bundle(tmp_path: Path) -> None:
    from opsconsole.bundle import check_bundle, open_bundle
    from opsconsole.paths import data_dir

    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        await pilot.press("ctrl+r")
        await wait_screen(app, pilot, "REC")
        for event in host_events(2, start=1_700_000_500.0):
            app.hub.publish(event)
        await pilot.pause(0.3)
        await pilot.press("ctrl+r")
        await wait_for(lambda: any((data_dir() / "bundles").glob("recording-*.tar.gz")), 10)
        assert "REC" not in screen_text(app).splitlines()[0]
    (bundle,) = (data_dir() / "bundles").glob("recording-*.tar.gz")
    assert check_bundle(bundle) == []
    recorded = open_bundle(bundle, tmp_path / "opened").events.read_text()
    assert "1700000501" in recorded  # what was published meanwhile


async def test_flight_recorder_is_off_unless_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_live(app, pilot)
        assert app.flight is None
        await pilot.press("ctrl+b")
        # Textual keeps no public list of the notifications it shows.
        await wait_for(lambda: any("recorder is off" in n.message for n in app._notifications))
