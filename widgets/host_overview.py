"""The host at a glance: CPU, load, memory, swap, the fullest disks, I/O, network, the cgroup.

Also the host panes' shared model (``HostHistory``) and the readings that turn a sample into
what a Metric shows, so the dashboard block and the focused host view never disagree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final, NamedTuple

from rich.segment import Segment
from textual.events import Resize
from textual.geometry import Region, Size
from textual.strip import Strip

from opsconsole.config import DEFAULT_THRESHOLDS, Level, Threshold
from opsconsole.sources.events import CgroupLimits, DiskUsage, Event, HostSample
from opsconsole.widgets.format import NA, number, percent, rate, size
from opsconsole.widgets.metric import (
    LEVEL_COMPONENT_CLASSES,
    LevelOf,
    LevelPalette,
    MeterRow,
    Part,
    Reading,
    Series,
    compact_meter,
    copy_history,
    level_css,
    metric_line,
)
from opsconsole.widgets.pane import EventPane

DISK_RATE_FLOOR: Final = 1024.0 * 1024
"""Bytes per second at the top of an idle disk's sparkline, so a trickle looks like one."""
NET_RATE_FLOOR: Final = 128.0 * 1024
"""The same for network traffic."""
WIDE: Final = 120
"""Content width from which the overview uses three columns instead of two."""
LABEL_WIDTH: Final = 6
VALUE_WIDTH: Final = 17
"""Cells of each label and value, the same in every cell so that the sparklines line up."""
MAX_DISKS: Final = 4
"""Fullest filesystems shown at most (enough to fill the last row of three columns)."""


def _level(threshold: Threshold, value: float | None) -> Level | None:
    """The level of a known figure; None (no colour, no cue) for an unknown one (n/a)."""
    return None if value is None or not math.isfinite(value) else threshold.level(value)


class HostHistory:
    """The host panes' model: the newest sample and a bounded history of every figure drawn.

    Per-disk and per-interface histories are kept only for the disks and interfaces in the
    newest sample, so container interfaces coming and going do not pile up.
    """

    def __init__(self, maxlen: int) -> None:
        self.maxlen = max(1, maxlen)
        self.sample: HostSample | None = None
        self.times: deque[float] = deque(maxlen=self.maxlen)
        self.cpu = Series(self.maxlen)
        self.load = Series(self.maxlen)
        """One-minute load average."""
        self.memory = Series(self.maxlen)
        """Percent of RAM used."""
        self.swap = Series(self.maxlen)
        """Percent of swap used."""
        self.disk_read = Series(self.maxlen)
        self.disk_write = Series(self.maxlen)
        self.disk_io = Series(self.maxlen)
        """Read plus write, bytes per second."""
        self.net_rx = Series(self.maxlen)
        self.net_tx = Series(self.maxlen)
        self.net = Series(self.maxlen)
        """Received plus sent, bytes per second."""
        self.cgroup_cpu = Series(self.maxlen)
        """Cores the cgroup used."""
        self.cgroup_memory = Series(self.maxlen)
        """Bytes charged to the cgroup."""
        self.cgroup_throttled = Series(self.maxlen)
        """Seconds the cgroup was throttled since the previous sample."""
        self.disks: dict[str, Series] = {}
        """Percent used, by mount point."""
        self.interfaces: dict[str, Series] = {}
        """Received plus sent, bytes per second, by interface."""

    def add(self, sample: HostSample) -> None:
        """Take the newest sample."""
        self.sample = sample
        self.times.append(sample.ts)
        self.cpu.append(sample.cpu_percent)
        self.load.append(sample.load[0] if sample.load else None)
        self.memory.append(sample.mem_percent)
        self.swap.append(sample.swap_percent)
        self.disk_read.append(sample.disk_read_bps)
        self.disk_write.append(sample.disk_write_bps)
        self.disk_io.append(_total(sample.disk_read_bps, sample.disk_write_bps))
        self.net_rx.append(sample.net_rx_bps)
        self.net_tx.append(sample.net_tx_bps)
        self.net.append(_total(sample.net_rx_bps, sample.net_tx_bps))
        cgroup = sample.cgroup
        self.cgroup_cpu.append(cgroup.cpu_usage_cores if cgroup else None)
        self.cgroup_memory.append(cgroup.memory_usage if cgroup else None)
        self.cgroup_throttled.append(cgroup.throttled_seconds if cgroup else None)
        self._add_keyed(self.disks, {disk.mount: disk.percent for disk in sample.disks})
        self._add_keyed(self.interfaces, {i.name: i.rx_bps + i.tx_bps for i in sample.interfaces})

    def _add_keyed(self, histories: dict[str, Series], values: Mapping[str, float]) -> None:
        for gone in histories.keys() - values.keys():
            del histories[gone]
        for key, value in values.items():
            series = histories.get(key)
            if series is None:
                series = histories[key] = Series(self.maxlen)
            series.append(value)

    @property
    def span(self) -> float:
        """Seconds between the oldest and the newest sample kept."""
        return self.times[-1] - self.times[0] if self.times else 0.0


def _total(first: float | None, second: float | None) -> float | None:
    if first is None and second is None:
        return None
    return (first or 0.0) + (second or 0.0)


class HostReadings:
    """Turns a sample into the Readings of its figures, against the configured thresholds."""

    def __init__(self, thresholds: Mapping[str, Threshold]) -> None:
        # A partial mapping (an older config) falls back to the defaults key by key.
        self.thresholds: Mapping[str, Threshold] = {**DEFAULT_THRESHOLDS, **thresholds}

    def cpu(self, sample: HostSample) -> Reading:
        """Total CPU busy percent."""
        threshold = self.thresholds["cpu"]
        value = sample.cpu_percent
        return Reading(
            percent(value), _level(threshold, value), top=100.0, level_of=threshold.level
        )

    def cores(self, sample: HostSample) -> list[MeterRow]:
        """One meter per core."""
        threshold = self.thresholds["cpu"]
        return [
            MeterRow(str(index), busy / 100, percent(busy, 0), _level(threshold, busy))
            for index, busy in enumerate(sample.per_core)
        ]

    def load(self, sample: HostSample) -> Reading:
        """Load averages, judged per core on the one-minute figure."""
        if sample.load is None:
            return Reading(NA)
        threshold = self.thresholds["load"]
        cores = sample.cpu_count
        text = " ".join(number(value) for value in sample.load)
        if not cores:
            return Reading(text, floor=1.0)
        return Reading(
            text,
            threshold.level(sample.load[0] / cores),
            floor=float(cores),
            level_of=lambda value: threshold.level(value / cores),
        )

    def memory(self, sample: HostSample) -> Reading:
        """RAM used of total."""
        return self._used_of(
            sample.mem_used, sample.mem_total, sample.mem_percent, self.thresholds["memory"]
        )

    def swap(self, sample: HostSample) -> Reading:
        """Swap used of total; "none" when the host has no swap."""
        if sample.swap_total == 0:
            return Reading("none")
        return self._used_of(
            sample.swap_used, sample.swap_total, sample.swap_percent, self.thresholds["swap"]
        )

    def _used_of(
        self, used: int | None, total: int | None, pct: float | None, threshold: Threshold
    ) -> Reading:
        text = NA if pct is None else f"{size(used)}/{size(total)} {percent(pct, 0)}"
        return Reading(text, _level(threshold, pct), top=100.0, level_of=threshold.level)

    def disk(self, disk: DiskUsage) -> Reading:
        """Percent of one filesystem used."""
        threshold = self.thresholds["disk"]
        return Reading(
            f"{percent(disk.percent, 0)} of {size(disk.total)}",
            _level(threshold, disk.percent),
            top=100.0,
            level_of=threshold.level,
        )

    def disk_meter(self, disk: DiskUsage) -> MeterRow:
        """One filesystem as a meter with its size, type and device."""
        threshold = self.thresholds["disk"]
        return MeterRow(
            disk.mount,
            disk.percent / 100,
            percent(disk.percent, 0),
            _level(threshold, disk.percent),
            f"{size(disk.used):>4}/{size(disk.total):<4} {disk.fstype} {disk.device}",
        )

    @staticmethod
    def disk_io(sample: HostSample) -> Reading:
        """Disk read and write rates."""
        return Reading(
            f"r {rate(sample.disk_read_bps)} w {rate(sample.disk_write_bps)}",
            floor=DISK_RATE_FLOOR,
        )

    @staticmethod
    def net(sample: HostSample) -> Reading:
        """Network receive and send rates."""
        return Reading(
            f"rx {rate(sample.net_rx_bps)} tx {rate(sample.net_tx_bps)}", floor=NET_RATE_FLOOR
        )

    @staticmethod
    def rate(value: float | None, floor: float) -> Reading:
        """A single rate."""
        return Reading(rate(value), floor=floor)

    def cgroup_cpu(self, cgroup: CgroupLimits) -> Reading:
        """Cores used of the quota; any throttling is at least a warning."""
        usage, limit = cgroup.cpu_usage_cores, cgroup.cpu_limit_cores
        throttled = bool(cgroup.throttled_periods)
        if limit:
            threshold = self.thresholds["cgroup_cpu"]
            text = f"{number(usage)}/{limit:g}c"
            level = _level(threshold, None if usage is None else usage / limit * 100)
            level_of = _scaled(threshold, 100 / limit)
        else:
            text, level, level_of = f"{number(usage)}c no limit", None, None
        if throttled:
            text += f" thr {number(cgroup.throttled_seconds, 1)}s"
            level = "critical" if level == "critical" else "warning"
        return Reading(text, level, top=limit or None, floor=1.0, level_of=level_of)

    @staticmethod
    def cgroup_throttled(cgroup: CgroupLimits) -> Reading:
        """Throttling since the previous sample."""
        periods, seconds = cgroup.throttled_periods, cgroup.throttled_seconds
        if periods is None and seconds is None:
            return Reading(NA)
        text = f"{NA if periods is None else periods} periods {number(seconds)}s"
        return Reading(
            text, "warning" if periods or seconds else "ok", floor=0.1, level_of=_throttled
        )

    def cgroup_memory(self, cgroup: CgroupLimits) -> Reading:
        """Bytes charged of the limit."""
        usage, limit = cgroup.memory_usage, cgroup.memory_limit
        if not limit:
            return Reading(f"{size(usage)} no limit")
        threshold = self.thresholds["cgroup_memory"]
        pct = None if usage is None else usage / limit * 100
        return Reading(
            f"{size(usage)}/{size(limit)} {percent(pct, 0)}",
            _level(threshold, pct),
            top=float(limit),
            level_of=_scaled(threshold, 100 / limit),
        )


def _scaled(threshold: Threshold, factor: float) -> LevelOf:
    return lambda value: threshold.level(value * factor)


def _throttled(value: float) -> Level:
    return "warning" if value > 0 else "ok"


class HostPane(EventPane):
    """Base of the panes that show the host's samples: their history and their readings."""

    def __init__(
        self,
        *,
        thresholds: Mapping[str, Threshold],
        history: int,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the pane.

        Args:
            thresholds: Warning and critical levels by metric name (see ``opsconsole.config``).
            history: Samples of history kept per figure.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.model = HostHistory(history)
        self.readings = HostReadings(thresholds)

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, HostSample):
                self.model.add(event)
                changed = True
        return changed

    def reset(self) -> None:
        self.model = HostHistory(self.model.maxlen)


class _Cell(NamedTuple):
    """One figure of the overview as drawn: its key, label, reading and history copy."""

    key: str
    label: str
    reading: Reading
    history: tuple[float | None, ...]
    label_width: int = LABEL_WIDTH
    value_width: int = VALUE_WIDTH


class HostOverview(HostPane):
    """The host in a few lines, for the dashboard beside the process table.

    Two columns of figures (three when wide), each with a sparkline of its recent history
    and a ``!``/``!!`` cue at warning/critical: CPU with a glyph per core, load, memory, swap,
    disk and network rates, the fullest filesystems, and the cgroup's CPU and memory against
    its limits when the console runs in one.

    It draws its lines itself (Textual's line API) rather than through a widget per figure:
    it is on screen all the time and changes every tick, and the compositor's cost grows with
    each widget it has to render.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = set(LEVEL_COMPONENT_CLASSES)

    DEFAULT_CSS = """
    HostOverview {
        height: auto;
        padding: 0 1;
        background: $surface;
        color: $foreground;
    }
    """ + level_css("HostOverview")

    def __init__(
        self,
        *,
        thresholds: Mapping[str, Threshold],
        history: int,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the overview (arguments as ``HostPane``)."""
        super().__init__(thresholds=thresholds, history=history, id=id, classes=classes)
        self.palette = LevelPalette(self)
        """The level styles of the figures."""
        self._cores: tuple[MeterRow, ...] | None = ()
        """The per-core meters; None hides their line (a host that does not report them)."""
        self._cells: list[_Cell] = [
            _Cell(key, label, Reading(NA), ())
            for key, label in (
                ("cpu", "CPU"),
                ("load", "LOAD"),
                ("memory", "MEM"),
                ("swap", "SWAP"),
                ("disk-io", "DISK"),
                ("net", "NET"),
            )
        ]
        self._strips: list[Strip | None] | None = None
        """Each line as drawn (None until built again), for the width ``_drawn_width``."""
        self._drawn_width = 0
        """The content width the strips were built for."""
        self.built_lines = 0
        """Lines built so far (the rest were drawn as before): what updates cost."""
        self.built_figures = 0
        """Figures built so far (the rest of each line built was taken as drawn before)."""
        self._cell_segments: dict[tuple[object, ...], list[Segment]] = {}
        """Each figure's segments as drawn, by what it draws (``_drawn``): a line is built again
        when one of its figures changes, and the others on it are taken from here."""

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.palette.clear()
        self._strips = None
        self._cell_segments.clear()

    @staticmethod
    def _columns_for(width: int) -> int:
        return 3 if width >= WIDE else 2

    def _line_count(self, columns: int) -> int:
        return (self._cores is not None) + -(-len(self._cells) // columns)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._line_count(self._columns_for(width))

    def show(self) -> None:
        sample, model, readings = self.model.sample, self.model, self.readings
        if sample is None:
            return
        width = self.size.width

        def cell(key: str, label: str, reading: Reading, history: Series, narrow: int = 0) -> _Cell:
            return _Cell(
                key,
                label,
                reading,
                copy_history(history, width, "recent"),
                LABEL_WIDTH + narrow,
                VALUE_WIDTH - narrow,
            )

        cells = [
            cell("cpu", "CPU", readings.cpu(sample), model.cpu),
            cell("load", "LOAD", readings.load(sample), model.load),
            cell("memory", "MEM", readings.memory(sample), model.memory),
            cell("swap", "SWAP", readings.swap(sample), model.swap),
            cell("disk-io", "DISK", readings.disk_io(sample), model.disk_io),
            cell("net", "NET", readings.net(sample), model.net),
        ]
        cgroup = sample.cgroup
        fullest = sorted(sample.disks, key=lambda disk: disk.percent, reverse=True)
        slots = self._disk_slots(self._columns_for(width), cgroup_cells=0 if cgroup is None else 2)
        for slot, disk in enumerate(fullest[:slots]):
            reading, history = readings.disk(disk), model.disks[disk.mount]
            cells.append(cell(f"disk-{slot}", disk.mount, reading, history, narrow=5))
        if cgroup is not None:
            cells.append(
                cell("cgroup-cpu", "CG CPU", readings.cgroup_cpu(cgroup), model.cgroup_cpu)
            )
            cells.append(
                cell("cgroup-memory", "CG MEM", readings.cgroup_memory(cgroup), model.cgroup_memory)
            )
        cores = tuple(readings.cores(sample)) if sample.per_core else None
        layout = len(cells) != len(self._cells) or (cores is None) != (self._cores is None)
        before = self._line_keys()
        self._cells, self._cores = cells, cores
        if layout:
            self._strips = None
            self.refresh(layout=True)
            # Asked again after the next frame: a layout asked for while the views after the
            # dashboard were mounting was sometimes lost, and the row of disks got no line.
            self.call_after_refresh(self.refresh, layout=True)
            return
        # Only the lines that draw differently are built and repainted: flat figures (no
        # swap, an idle link, a disk that does not fill) keep their line, and the compositor
        # renders less of the screen.
        strips, after = self._strips, self._line_keys()
        rows = after[1:] if self._cores is not None else after  # the figures' lines
        shown = {drawn for line in rows for drawn in line}
        self._cell_segments = {
            drawn: segments for drawn, segments in self._cell_segments.items() if drawn in shown
        }
        for y, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                if strips is not None:
                    strips[y] = None
                self.refresh(Region(0, y, width, 1))

    @staticmethod
    def _disk_slots(columns: int, cgroup_cells: int) -> int:
        """Disks to show: at least a row of them, and as many as fill the last row."""
        slots = columns
        while (slots + cgroup_cells) % columns:
            slots += 1
        return slots

    def on_resize(self, event: Resize) -> None:
        self._strips = None
        if self._columns_for(event.size.width) != self._columns_for(self._drawn_width):
            # The number of disk slots follows the columns: redraw when the pane may.
            self._stale = True
            self.show_if_due()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strips is None or self._drawn_width != width:
            self._strips = [None] * self._line_count(self._columns_for(width))
            self._drawn_width = width
        if not 0 <= y < len(self._strips):
            return Strip.blank(width, self.palette.own())
        strip = self._strips[y]
        if strip is None:
            strip = self._strips[y] = self._build_line(y, width)
            self.built_lines += 1
        return strip

    def _line_keys(self) -> list[tuple[object, ...]]:
        """What each line shows, to tell which lines a new sample changes: the cores' meters,
        then each line's figures as drawn (``_drawn``)."""
        keys: list[tuple[object, ...]] = [] if self._cores is None else [self._cores]
        width = self.size.width
        columns = self._columns_for(width)
        widths = _cell_widths(width, columns)
        cells = self._cells
        keys.extend(
            tuple(
                _drawn(cell, cell_width)
                for cell, cell_width in zip(cells[row : row + columns], widths, strict=False)
            )
            for row in range(0, len(cells), columns)
        )
        return keys

    def _build_line(self, y: int, width: int) -> Strip:
        """Line ``y`` of the overview, ``width`` cells wide: the cores, or a row of figures."""
        palette = self.palette
        base = palette.own()

        def fitted(parts: list[Part], cells: int) -> list[Segment]:
            """``parts`` over the pane's style, cut or padded to exactly ``cells``."""
            # Segments, and one Strip for the whole line: each Strip Textual makes sets up
            # seven caches, which cost more than the few segments of a cell.
            segments = [Segment(text, base + style) for text, style in parts]
            return Segment.adjust_line_length(segments, cells, base)

        if self._cores is not None:
            if y == 0:
                return Strip(
                    fitted(compact_meter(palette, "cores", self._cores, width), width), width
                )
            y -= 1
        gutter = Segment(" " * GUTTER, base)
        columns = self._columns_for(width)
        row = y * columns
        line: list[Segment] = []
        used = 0
        for index, cell_width in enumerate(_cell_widths(width, columns)):
            if row + index >= len(self._cells):
                break
            cell = self._cells[row + index]
            if index:
                line.append(gutter)
                used += GUTTER
            drawn = _drawn(cell, cell_width)
            segments = self._cell_segments.get(drawn)
            if segments is None:
                parts = metric_line(
                    palette,
                    cell.label,
                    cell.reading,
                    cell.history,
                    cell_width,
                    label_width=cell.label_width,
                    value_width=cell.value_width,
                )
                segments = self._cell_segments[drawn] = fitted(parts, cell_width)
                self.built_figures += 1
            line.extend(segments)
            used += cell_width
        if used != width:
            line = Segment.adjust_line_length(line, width, base)
        return Strip(line, width)

    def cell_region(self, key: str) -> Region | None:
        """Where the figure ``key`` (``cpu``, ``load``, ``memory``, ``swap``, ``disk-io``,
        ``net``, ``disk-N``, ``cgroup-cpu``, ``cgroup-memory``) is drawn on the screen; None
        when it is not shown."""
        keys = [cell.key for cell in self._cells]
        if key not in keys:
            return None
        content = self.content_region
        columns = self._columns_for(content.width)
        row, column = divmod(keys.index(key), columns)
        widths = _cell_widths(content.width, columns)
        x = content.x + sum(widths[:column]) + GUTTER * column
        return Region(x, content.y + (self._cores is not None) + row, widths[column], 1)


def _drawn(cell: _Cell, width: int) -> tuple[object, ...]:
    """What of a cell ``width`` cells wide shows on screen: its label, figure and the part of
    its history the sparkline has room for (a reading's ``level_of`` is a new function each
    time, so it is left out)."""
    spark = width - cell.label_width - cell.value_width - 4  # label, space, figure, cue, space
    return (
        cell.key,
        cell.label,
        cell.reading[:4],
        width,
        cell.history[-spark:] if spark > 0 else (),
    )


GUTTER: Final = 2
"""Cells between two columns of figures."""


def _cell_widths(width: int, columns: int) -> list[int]:
    """The width of each column of figures: equal shares of ``width`` after the gutters."""
    share, extra = divmod(max(0, width - GUTTER * (columns - 1)), columns)
    return [share + (column < extra) for column in range(columns)]
