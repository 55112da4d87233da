"""The host panes and the process table, driven through Textual's pilot with events built here.

What is asserted is what a person sees: the text on the screen where a widget is, its level
classes, the table's rows and cursor.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Input

from opsconsole.config import DEFAULT_THRESHOLDS, Threshold
from opsconsole.sources.events import (
    CgroupLimits,
    DiskUsage,
    Event,
    HostSample,
    NetRate,
    ProcessRow,
    ProcessTable,
)
from opsconsole.widgets.host_detail import HostDetail
from opsconsole.widgets.host_overview import HostOverview
from opsconsole.widgets.metric import LevelPalette, Metric
from opsconsole.widgets.process_table import ProcessTablePane
from opsconsole.widgets.row_table import RowTable

GIB = 2**30


# -- building events ----------------------------------------------------------------------


def host_sample(n: int = 0, **fields: object) -> HostSample:
    """A plausible sample of a 4-core host; ``fields`` override any figure."""
    values: dict[str, object] = {
        "boot_time": 0.0,
        "cpu_count": 4,
        "cpu_percent": 45.2,
        "per_core": (10.0, 20.0, 95.0, 55.0),
        "load": (1.5, 1.0, 0.5),
        "mem_total": 16 * GIB,
        "mem_used": 4 * GIB,
        "mem_available": 12 * GIB,
        "mem_percent": 25.0,
        "swap_total": 2 * GIB,
        "swap_used": 0,
        "swap_percent": 0.0,
        "disks": (
            DiskUsage(
                mount="/",
                device="/dev/sda1",
                fstype="ext4",
                total=100 * GIB,
                used=85 * GIB,
                free=15 * GIB,
                percent=85.0,
            ),
            DiskUsage(
                mount="/var/lib/docker",
                device="/dev/sdb1",
                fstype="xfs",
                total=500 * GIB,
                used=50 * GIB,
                free=450 * GIB,
                percent=10.0,
            ),
        ),
        "disk_read_bps": 1.5 * 2**20,
        "disk_write_bps": 300 * 1024.0,
        "net_rx_bps": 1.25 * 2**20,
        "net_tx_bps": 50 * 1024.0,
        "interfaces": (NetRate(name="eth0", rx_bps=1.25 * 2**20, tx_bps=50 * 1024.0),),
        "cgroup": None,
    }
    values.update(fields)
    return HostSample(ts=1000.0 + n, host="h", source="test", **values)  # type: ignore[arg-type]


def bare_sample(n: int = 0) -> HostSample:
    """A sample from a kernel that gives nothing: every optional figure missing."""
    return HostSample(ts=1000.0 + n, host="h", source="test")


def proc(pid: int, cpu: float = 0.0, **fields: object) -> ProcessRow:
    values: dict[str, object] = {
        "user": "root",
        "name": f"proc{pid}",
        "command": f"/usr/bin/proc{pid} --serve",
        "state": "sleeping",
        "rss": pid * 2**20,
        "mem_percent": pid / 100,
        "started": 500.0 + pid,
    }
    values.update(fields)
    return ProcessRow(pid=pid, cpu_percent=cpu, **values)  # type: ignore[arg-type]


def process_table(rows: Iterable[ProcessRow], n: int = 0, total: int = 1234) -> ProcessTable:
    return ProcessTable(
        ts=1000.0 + n, host="h", source="test", rows=tuple(rows), total=total, running=2
    )


# -- the test app and what it shows -------------------------------------------------------


class PaneApp(App[None]):
    """Mounts one widget; ``escaped`` counts esc presses that reached the app."""

    selected: list[ProcessRow]

    BINDINGS = [Binding("escape", "escaped", "Back", id="test.escape")]

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
        self.escaped = 0
        self.selected = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def action_escaped(self) -> None:
        self.escaped += 1

    def on_process_table_pane_selected(self, message: ProcessTablePane.Selected) -> None:
        self.selected.append(message.process)


def drawn(widget: Widget) -> str:
    """The text on the screen where the widget is (children included), one line per row."""
    return drawn_at(widget, widget.region)


def drawn_at(widget: Widget, region: Region) -> str:
    """The text on ``widget``'s screen in ``region``, one line per row."""
    # The screen's compositor is what writes to the terminal; Textual has no public getter.
    lines = [strip.text for strip in widget.screen._compositor.render_strips()]
    x, y, width, height = region
    return "\n".join(line[x : x + width] for line in lines[y : y + height])


def shown_level(
    widget: Widget, region: Region, label_width: int, palette: LevelPalette
) -> str | None:
    """The level whose colour the figure in ``region`` is drawn in on screen (None: plain)."""
    x, y, _, _ = region
    line = widget.screen._compositor.render_strips()[y]
    # The figure is the first text after the label.
    offset = 0
    for segment in line:
        if offset >= x + label_width and segment.text.strip():
            colour = segment.style.color if segment.style else None
            break
        offset += len(segment.text)
    else:
        raise AssertionError("no figure drawn")
    for level in ("ok", "warning", "critical"):
        if palette.level(level).color == colour:
            return level
    return None


def metric(pane: Widget, id: str) -> Metric:
    return pane.query_one(f"#{id}", Metric)


def metric_level(metric: Metric) -> str | None:
    """The level colour of a Metric widget's figure."""
    return shown_level(metric, metric.region, metric._label_width, metric.palette)


def figure(pane: HostOverview, key: str) -> Region:
    """Where the overview draws the figure ``key``; fails when it is not shown."""
    region = pane.cell_region(key)
    assert region is not None, f"{key} not shown"
    return region


def figure_text(pane: HostOverview, key: str) -> str:
    return drawn_at(pane, figure(pane, key))


def figure_level(pane: HostOverview, key: str) -> str | None:
    label_width = 11 if key.startswith("disk-") and key != "disk-io" else 6
    return shown_level(pane, figure(pane, key), label_width, pane.palette)


def overview(history: int = 600, thresholds: dict[str, Threshold] | None = None) -> HostOverview:
    return HostOverview(thresholds=thresholds or dict(DEFAULT_THRESHOLDS), history=history)


def feed(pane: HostOverview | HostDetail | ProcessTablePane, *events: Event) -> None:
    pane.consume(list(events))


def rows_shown(table: RowTable) -> list[str]:
    """Each row of the table as the text of its cells."""
    return [" ".join(row.cells) for row in table.rows]


def pids_shown(table: RowTable) -> list[int]:
    return [int(row.cells[0]) for row in table.rows]


def cursor_pid(table: RowTable) -> int:
    return pids_shown(table)[table.cursor_row]


# -- the overview -------------------------------------------------------------------------


async def test_overview_shows_every_figure_at_80x24() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(pane, host_sample())
        await pilot.pause()
        text = drawn(pane)
        for expected in (
            "CPU",
            "45.2%",
            "1.50 1.00 0.50",
            "4.0G/16G 25%",
            "0B/2.0G 0%",
            "r 1.5M/s w 300K/s",
            "rx 1.2M/s tx 50K/s",
            "85% of 100G",
            "10% of 500G",
            "…lib/docker",
        ):
            assert expected in text, expected
        # The dashboard block leaves room for the process table.
        assert pane.outer_size.height <= 8
        assert "CG CPU" not in text  # no cgroup limits, no cgroup lines


async def test_levels_colour_and_mark_each_figure() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        for busy, level, mark in (
            (50.0, "ok", ""),
            (75.0, "warning", "!"),
            (95.0, "critical", "!!"),
        ):
            feed(pane, host_sample(cpu_percent=busy))
            await pilot.pause()
            assert figure_level(pane, "cpu") == level, busy
            # The cue that does not depend on colour.
            assert f"{busy:.1f}%{mark} " in figure_text(pane, "cpu"), busy
        # Load is judged per core: 6.0 on 4 cores is 1.5 per core, a warning by default.
        feed(pane, host_sample(load=(6.0, 1.0, 1.0)))
        await pilot.pause()
        assert figure_level(pane, "load") == "warning"
        assert "6.00 1.00 1.00!" in figure_text(pane, "load")


async def test_configured_thresholds_are_used() -> None:
    pane = overview(thresholds={"cpu": Threshold(10.0, 20.0)})  # the others from defaults
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(pane, host_sample(cpu_percent=15.0))
        await pilot.pause()
        assert figure_level(pane, "cpu") == "warning"
        assert figure_level(pane, "memory") == "ok"


async def test_missing_figures_show_na_and_never_an_alarm() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(pane, host_sample(), bare_sample(1))
        await pilot.pause()
        for key in ("cpu", "load", "memory", "swap"):
            assert "n/a" in figure_text(pane, key), key
            assert figure_level(pane, key) is None
        assert "r n/a w n/a" in figure_text(pane, "disk-io")
        assert "cores" not in drawn(pane)  # no per-core figures, no row for them
        assert pane.cell_region("disk-0") is None


async def test_cgroup_limits_appear_with_throttling() -> None:
    cgroup = CgroupLimits(
        version=2,
        path="/system.slice/app.service",
        cpu_limit_cores=2.0,
        cpu_usage_cores=1.5,
        throttled_periods=12,
        throttled_seconds=0.4,
        memory_limit=4 * GIB,
        memory_usage=3 * GIB,
    )
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(pane, host_sample(cgroup=cgroup))
        await pilot.pause()
        assert "1.50/2c thr 0.4s!" in figure_text(pane, "cgroup-cpu")  # 75%, but throttled
        assert figure_level(pane, "cgroup-cpu") == "warning"
        assert "3.0G/4.0G 75%" in figure_text(pane, "cgroup-memory")
        # A cgroup that exposes nothing (v1 without the files) shows n/a, no crash.
        feed(pane, host_sample(1, cgroup=CgroupLimits(version=1, path="/")))
        await pilot.pause()
        assert "n/ac no limit" in figure_text(pane, "cgroup-cpu")
        assert "n/a no limit" in figure_text(pane, "cgroup-memory")


async def test_history_is_bounded_and_sparkline_shows_the_newest() -> None:
    pane = overview(history=10)
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(25):
            feed(pane, host_sample(n, cpu_percent=float(n * 4)))
        await pilot.pause()
        assert len(pane.model.cpu) == 10
        assert pane.model.cpu.values() == tuple(float(n * 4) for n in range(15, 25))
        assert len(pane.model.times) == 10
        # Ten samples kept: ten glyphs drawn, newest (the highest) at the right.
        spark = figure_text(pane, "cpu").rstrip().split(" ")[-1]
        assert len(spark) == 10
        assert spark[-1] == "█" and spark == "".join(sorted(spark))
        # A disk that is unmounted takes its history with it.
        feed(pane, host_sample(30, disks=()))
        assert pane.model.disks == {}


async def test_overview_uses_three_columns_when_wide() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(pane, host_sample())
        await pilot.pause()
        assert figure(pane, "cpu").y == figure(pane, "memory").y
        assert pane.outer_size.height <= 6


async def test_only_the_lines_that_change_are_drawn_again() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(160, 45)) as pilot:
        for n in range(60):  # sparklines full: a steady figure now draws the same line
            feed(pane, host_sample(n))
        await pilot.pause()
        built = pane.built_lines
        # The same figures again (an idle host): nothing is drawn.
        feed(pane, host_sample(60))
        await pilot.pause()
        assert pane.built_lines == built
        # Only the CPU moves: its row is drawn again, and the cores and disks are not.
        feed(pane, host_sample(61, cpu_percent=80.0))
        await pilot.pause()
        assert pane.built_lines == built + 1
        assert "80.0%" in figure_text(pane, "cpu")


async def test_a_line_drawn_again_builds_only_the_figures_that_changed() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(160, 45)) as pilot:
        for n in range(60):
            feed(pane, host_sample(n))
        await pilot.pause()
        built, text = pane.built_figures, drawn(pane)
        # The CPU shares its line with the load and memory, which are taken as they were.
        feed(pane, host_sample(60, cpu_percent=80.0))
        await pilot.pause()
        assert pane.built_figures == built + 1
        assert "80.0%" in figure_text(pane, "cpu")
        after = drawn(pane)
        for key in ("load", "memory"):
            assert figure_text(pane, key) in text  # drawn as before
        assert after != text


async def test_frozen_overview_collects_but_holds_its_picture() -> None:
    pane = overview()
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(pane, host_sample(0, cpu_percent=10.0))
        await pilot.pause()
        before = drawn(pane)
        pane.frozen = True
        feed(pane, host_sample(1, cpu_percent=97.0))
        await pilot.pause()
        assert pane.model.cpu.latest == 97.0  # the model moved on
        assert drawn(pane) == before  # the screen did not
        pane.frozen = False
        await pilot.pause()
        assert "97.0%!!" in figure_text(pane, "cpu")


# -- the host detail view -----------------------------------------------------------------


async def test_detail_shows_every_core_disk_and_interface() -> None:
    pane = HostDetail(thresholds=DEFAULT_THRESHOLDS, history=100)
    app = PaneApp(pane)
    async with app.run_test(size=(100, 60)) as pilot:
        feed(pane, host_sample())
        await pilot.pause()
        cores = drawn(pane.query_one("#cores"))
        for figure in ("10%", "20%", "95%!!", "55%"):
            assert figure in cores
        disks = drawn(pane.query_one("#disks"))
        assert "/var/lib/docker" in disks and "85%!" in disks and "ext4 /dev/sda1" in disks
        assert "eth0" in drawn(pane) and "err 0 drop 0" in drawn(pane)
        assert not pane.query_one("#cgroup-cpu").display
        # An interface that goes away is removed; one with drops is a warning.
        feed(
            pane,
            host_sample(1, interfaces=(NetRate(name="veth9", rx_bps=0, tx_bps=0, drops=3),)),
        )
        await pilot.pause()
        text = drawn(pane)
        assert "eth0" not in text
        assert "veth9" in text and "drop 3!" in text
        feed(
            pane,
            host_sample(2, interfaces=(NetRate(name="br0", rx_bps=1, tx_bps=1, in_total=False),)),
        )
        await pilot.pause()
        assert "Network · total without br0" in drawn(pane)


async def test_detail_cgroup_section_and_missing_figures() -> None:
    pane = HostDetail(thresholds=DEFAULT_THRESHOLDS, history=100)
    app = PaneApp(pane)
    async with app.run_test(size=(100, 60)) as pilot:
        cgroup = CgroupLimits(version=1, path="/docker/abc", memory_limit=GIB, memory_usage=GIB)
        feed(pane, bare_sample(0), host_sample(1, cgroup=cgroup))
        await pilot.pause()
        assert pane.query_one("#cgroup-cpu").display
        assert "cgroup v1  /docker/abc" in drawn(pane)
        assert metric_level(metric(pane, "cgroup-memory")) == "critical"
        assert "1.0G/1.0G 100%!!" in drawn(metric(pane, "cgroup-memory"))
        feed(pane, bare_sample(2))
        await pilot.pause()
        assert not pane.query_one("#cgroup-cpu").display
        assert "n/a" in drawn(metric(pane, "cpu"))


# -- the process table --------------------------------------------------------------------


def table_pane() -> tuple[ProcessTablePane, PaneApp]:
    pane = ProcessTablePane()
    return pane, PaneApp(pane)


async def test_rows_are_updated_in_place() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        feed(pane, process_table([proc(1, 5.0), proc(2, 50.0), proc(3, 20.0)]))
        await pilot.pause()
        assert pids_shown(table) == [2, 3, 1]
        keys_before = {row.key for row in table.rows}
        built = table.rendered_rows
        # Nothing changed: nothing is drawn again. One figure changed: one row is.
        feed(pane, process_table([proc(1, 5.0), proc(2, 50.0), proc(3, 20.0)], n=1))
        await pilot.pause()
        assert table.rendered_rows == built
        feed(pane, process_table([proc(1, 5.0), proc(2, 50.0), proc(3, 21.0)], n=2))
        await pilot.pause()
        assert table.rendered_rows == built + 1
        assert "21.0" in drawn(pane).splitlines()[3]  # under the status line and the header
        feed(pane, process_table([proc(1, 90.0), proc(2, 50.0), proc(3, 20.0)], n=3))
        await pilot.pause()
        assert pids_shown(table) == [1, 2, 3]
        assert {row.key for row in table.rows} == keys_before
        assert "90.0" in drawn(pane).splitlines()[2]
        # A process that exits goes, one that starts (even with a reused pid) comes.
        feed(pane, process_table([proc(1, 90.0), proc(3, 20.0, started=9999.0)], n=4))
        await pilot.pause()
        assert pids_shown(table) == [1, 3]
        assert {row.key for row in table.rows} != keys_before
        assert "2 of 1,234 processes" in drawn(pane)


async def test_a_flickering_idle_process_stays_in_its_place() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        idle = [proc(pid, 0.0) for pid in range(10, 30)]
        feed(pane, process_table([proc(1, 50.0), proc(5, 1.0), *idle]))
        await pilot.pause()
        assert pids_shown(table)[:3] == [1, 5, 29]  # ties in a first table: newest pid first
        built = table.rendered_rows
        # pid 5's CPU% flickers 1.0, 0.0, 1.0 (one tick of 100 Hz, then none): among the
        # idle it keeps its place, so each tick redraws its row and no other.
        for n, cpu in enumerate((0.0, 1.0, 0.0, 1.0), start=1):
            feed(pane, process_table([proc(1, 50.0), proc(5, cpu), *idle], n=n))
            await pilot.pause()
            assert pids_shown(table)[:3] == [1, 5, 29]
        assert table.rendered_rows == built + 4
        # A real change of order still moves the row; a new process joins its equals last.
        feed(pane, process_table([proc(1, 50.0), proc(5, 0.0), proc(40, 7.0), *idle], n=5))
        await pilot.pause()
        assert pids_shown(table)[:4] == [1, 40, 5, 29]
        feed(pane, process_table([proc(1, 50.0), proc(5, 0.0), *idle, proc(99, 0.0)], n=6))
        await pilot.pause()
        assert pids_shown(table)[-1] == 99


async def test_cursor_stays_on_its_process() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        table.focus()
        feed(pane, process_table([proc(pid, cpu=100.0 - pid) for pid in range(1, 11)]))
        await pilot.pause()
        await pilot.press("j", "j")
        assert cursor_pid(table) == 3
        # pid 3 falls to the bottom: the cursor goes with it.
        feed(
            pane,
            process_table(
                [proc(pid, cpu=1.0 if pid == 3 else 100.0 - pid) for pid in range(1, 11)], n=1
            ),
        )
        await pilot.pause()
        assert cursor_pid(table) == 3 and table.cursor_row == 9
        await pilot.press("P")  # re-sort by pid
        assert pids_shown(table) == list(range(1, 11))
        assert cursor_pid(table) == 3
        await pilot.press("k")
        assert cursor_pid(table) == 2
        await pilot.press("enter")  # the app learns which process, to act on it
        assert [process.pid for process in app.selected] == [2]
        # A cursor left on top stays on top, showing the busiest.
        await pilot.press("C", "g")
        top = cursor_pid(table)
        feed(pane, process_table([proc(pid, cpu=float(pid)) for pid in range(1, 11)], n=2))
        await pilot.pause()
        assert table.cursor_row == 0 and cursor_pid(table) == 10 != top


async def test_sort_keys_reorder_and_mark_the_column() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        table.focus()
        feed(
            pane,
            process_table(
                [
                    proc(30, 1.0, user="zed", command="/bin/alpha", rss=5 * 2**20),
                    proc(10, 9.0, user="amy", command="/bin/charlie", rss=1 * 2**20),
                    proc(20, 5.0, user="bob", command="/bin/bravo", rss=9 * 2**20),
                ]
            ),
        )
        await pilot.pause()
        assert pids_shown(table) == [10, 20, 30]  # CPU, busiest first
        assert "CPU%▼" in drawn(pane)
        for key, order in (
            ("P", [10, 20, 30]),
            ("I", [30, 20, 10]),
            ("M", [20, 30, 10]),
            ("U", [10, 20, 30]),
            ("N", [30, 20, 10]),
            ("C", [10, 20, 30]),
            ("I", [30, 20, 10]),
        ):
            await pilot.press(key)
            assert pids_shown(table) == order, key
        header = drawn(pane).splitlines()[1]
        assert "CPU%▲" in header and "PID " in header and "▼" not in header


async def test_filter_narrows_and_keeps_the_last_good_one() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        table.focus()
        feed(
            pane,
            process_table(
                [
                    proc(1, 3.0, command="nginx: master"),
                    proc(2, 2.0, command="nginx: worker", user="www-data"),
                    proc(3, 1.0, command="postgres -D /data"),
                ]
            ),
        )
        await pilot.pause()
        await pilot.press("slash")
        filter_input = pane.query_one(Input)
        assert filter_input.has_focus
        await pilot.press(*"NGINX")  # case does not matter
        assert pids_shown(table) == [1, 2]
        assert "2 of 1,234 processes matching /NGINX/" in drawn(pane)
        await pilot.press("(")  # "NGINX(" is not a valid expression
        assert pids_shown(table) == [1, 2]
        assert "invalid regex (kept /NGINX/): missing )" in drawn(pane)
        assert pane.query_one("#status").has_class("-error")
        await pilot.press("enter")  # refused while invalid: the input stays open
        assert filter_input.has_focus
        await pilot.press("backspace", "enter")
        assert table.has_focus and not pane.query_one("#status").has_class("-error")
        # The filter goes on applying to new data.
        feed(pane, process_table([proc(2, 2.0, command="nginx: worker"), proc(4)], n=1))
        await pilot.pause()
        assert pids_shown(table) == [2]
        await pilot.press("slash", *["backspace"] * 5, *"!nginx", "enter")
        assert pids_shown(table) == [4]
        # esc clears the filter; a second esc, with nothing to clear, goes on to the app.
        await pilot.press("escape")
        assert pids_shown(table) == [2, 4] and app.escaped == 0
        await pilot.press("escape")
        assert app.escaped == 1


async def test_filter_matches_user_and_pid_too() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        feed(pane, process_table([proc(41, 2.0, user="www-data"), proc(1234, 1.0), proc(7)]))
        await pilot.pause()
        assert pane.set_filter("WWW")
        assert pids_shown(table) == [41]
        assert pane.set_filter("^123")
        assert pids_shown(table) == [1234]
        assert not pane.set_filter("[")
        assert pids_shown(table) == [1234] and pane.filter_text == "^123"


async def test_long_command_lines_scroll_sideways() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        feed(pane, process_table([proc(1, command="java " + "-Dx=y " * 30 + "Main")]))
        await pilot.pause()
        assert "Main" not in drawn(pane)
        table.focus()
        await pilot.press("end")
        assert "Main" in drawn(pane)
        await pilot.press("home")
        assert "java" in drawn(pane)


async def test_text_is_data_never_markup_or_terminal_controls() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(120, 24)) as pilot:
        feed(
            pane,
            process_table(
                [
                    proc(1, 2.0, command="evil [red]boom[/red] [link=x]y", user="[b]eve"),
                    proc(2, 1.0, command="esc \x1b[2J bell \x07", name="x"),
                    proc(3, 0.0, command="", name="kworker/0:1"),
                ]
            ),
        )
        await pilot.pause()
        text = drawn(pane)
        assert "evil [red]boom[/red] [link=x]y" in text
        assert "[b]eve" in text
        assert "\x1b" not in text and "\x07" not in text
        assert "esc \\x1b[2J bell \\x07" in text
        assert "[kworker/0:1]" in text  # a kernel thread, as ps shows it


async def test_a_damaged_process_table_does_not_crash() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        rows = [
            proc(8, float("nan"), mem_percent=None),
            proc(5, 4.0),
            proc(5, 3.0),  # the same process twice
            proc(5, 1.0, started=None),  # and its pid again, without a start time
            proc(6, 2.0),
        ]
        feed(pane, process_table(rows, total=0))
        await pilot.pause()
        assert sorted(pids_shown(table)) == [5, 5, 6, 8]
        assert any("n/a n/a" in row for row in rows_shown(table))
        feed(pane, process_table([proc(6, 2.0)], n=1))
        await pilot.pause()
        assert pids_shown(table) == [6]


async def test_frozen_table_holds_until_unfrozen() -> None:
    pane, app = table_pane()
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane.query_one(RowTable)
        feed(pane, process_table([proc(1, 5.0), proc(2, 1.0)]))
        await pilot.pause()
        before = rows_shown(table)
        pane.frozen = True
        feed(pane, process_table([proc(1, 5.0), proc(2, 80.0), proc(7)], n=1))
        await pilot.pause()
        assert rows_shown(table) == before
        await pilot.press("P")  # sorting works on what is on screen
        pane.frozen = False
        await pilot.pause()
        assert pids_shown(table) == [1, 2, 7]
        assert "80.0" in rows_shown(table)[1]


async def test_micro_measure_sample_and_300_processes(capsys: object) -> None:
    """Not asserted: how long one HostSample and a 300-row ProcessTable take to show."""
    host = overview()
    processes = ProcessTablePane()

    class Dashboard(App[None]):
        def compose(self) -> ComposeResult:
            yield host
            yield processes

    app = Dashboard()
    async with app.run_test(size=(80, 24)) as pilot:

        def batch(n: int) -> Sequence[Event]:
            rows = [proc(pid, cpu=float((pid * 7 + n * 13) % 100)) for pid in range(1, 301)]
            return [host_sample(n, cpu_percent=float(n % 100)), process_table(rows, n=n)]

        for pane in (host, processes):
            pane.consume(batch(0))
        await pilot.pause()
        batches = [batch(n) for n in range(1, 11)]
        wall, cpu = [], []
        for events in batches:
            start, start_cpu = time.perf_counter(), time.process_time()
            host.consume(events)
            processes.consume(events)
            await pilot.pause()  # includes the repaint of the screen
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(
            "\nsample + 300 processes, consume+show+paint at 80x24: "
            f"median {sorted(cpu)[5] * 1000:.1f} ms CPU, {sorted(wall)[5] * 1000:.1f} ms wall"
        )
