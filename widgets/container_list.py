"""The container list: every container of every engine, live, with its figures and actions.

Rows come from the container sources' events (snapshots, changes, stats); the pane never calls
an engine itself. Looking closer (inspect, processes, stats history, logs) and acting (start,
stop, restart, kill, pause, unpause) go through the control facade it is given; every action is
confirmed first and refused in read-only mode.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Final, Literal

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive

from opsconsole.evidence import EvidenceDraft, draft_from_container
from opsconsole.sources.containers import ContainerControl, ReadOnlyError
from opsconsole.sources.engine import Action, EngineError
from opsconsole.sources.events import (
    ContainerAction,
    ContainerInfo,
    ContainerList,
    ContainerStats,
    ContainerStatsBatch,
    Event,
    SourceState,
    SourceStatus,
)
from opsconsole.sources.text import safe_text
from opsconsole.widgets.confirm import ConfirmScreen
from opsconsole.widgets.container_views import ContainerScreen, View
from opsconsole.widgets.filtered_table import FilteredTable, RegexFilter, filter_bindings
from opsconsole.widgets.format import NA, count, percent, size
from opsconsole.widgets.log_view import LogPane, LogsTab
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.row_table import Column, Row, RowTable

SortKey = Literal["name", "cpu", "memory", "state", "uptime"]
"""What the rows can be sorted by."""

HISTORY: Final = 300
"""Stats reads kept per container for the history view (five minutes at one a second)."""

# What matters first comes first: at 80 columns the name, state, health, CPU and memory show.
COLUMNS: Final = (
    Column("mark", "!", 4),
    Column("name", "NAME", 22),
    Column("state", "STATE", 10),
    Column("health", "HEALTH", 9),
    Column("cpu", "CPU%", 6, "right"),
    Column("memory", "MEM/LIMIT", 11, "right"),
    Column("uptime", "UP", 6, "right"),
    Column("restarts", "RST", 4, "right"),
    Column("exit", "EXIT", 4, "right"),
    Column("engine", "ENGINE", 6),
    Column("image", "IMAGE", 22),
    Column("net", "NET RX/TX", 11, "right"),
    Column("block", "BLOCK R/W", 11, "right"),
    Column("group", "POD/PROJECT", 20),
)
RECENT_RESTART: Final = 600.0
"""A container that restarted and has been up less than this (seconds) is marked restarting."""
_DESCENDING: Final = frozenset({"cpu", "memory", "uptime"})
_ENGINE_PREFIXES: Final = ("podman:", "docker:")


def uptime(seconds: float | None) -> str:
    """Time up at minute resolution (``<1m``, ``12m``, ``4h12m``, ``3d4h``): a row's text
    changes once a minute, not every second."""
    if seconds is None:
        return "-"
    minutes = int(max(0.0, seconds)) // 60
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02}"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def marker(info: ContainerInfo, now: float) -> str:
    """What makes a container worth a look at once: OOM-killed, unhealthy, restarting (or up
    again for less than ten minutes after a restart: podman restarts at once, so a crash loop
    is seldom caught in the restarting state)."""
    if info.oom_killed:
        return "OOM"
    if info.health == "unhealthy":
        return "UNH"
    recent = info.started_at is not None and now - info.started_at < RECENT_RESTART
    if info.state == "restarting" or (info.restarts and recent and info.state == "running"):
        return "RST"
    return ""


def group_of(info: ContainerInfo) -> str:
    """The pod, or else the compose project, a container belongs to ("" for none)."""
    return info.pod or info.project or ""


def _pair(a: float | None, b: float | None) -> str:
    return NA if a is None and b is None else f"{size(a)}/{size(b)}"


def cells(info: ContainerInfo, stats: ContainerStats | None, now: float) -> tuple[str, ...]:
    """The text of each column, in ``COLUMNS`` order (plain text: the table never parses it)."""
    running = info.state in ("running", "paused")
    up = now - info.started_at if running and info.started_at else None
    memory = NA
    if stats is not None and stats.mem_usage is not None:
        memory = size(stats.mem_usage)
        if stats.mem_limit is not None:
            memory += f"/{size(stats.mem_limit)}"
    return (
        marker(info, now),
        safe_text(info.name),
        safe_text(info.state),
        safe_text(info.health or "-"),
        percent(stats.cpu_percent) if stats is not None and running else "-",
        memory if running else "-",
        uptime(up),
        NA if info.restarts is None else str(info.restarts),
        "-" if running or info.exit_code is None else str(info.exit_code),
        info.runtime,
        safe_text(info.image),
        _pair(stats.net_rx, stats.net_tx) if stats is not None and running else "-",
        _pair(stats.blk_read, stats.blk_write) if stats is not None and running else "-",
        safe_text(group_of(info)),
    )


class ContainerFilter(RegexFilter):
    """A case-insensitive regular expression over name, image, state, health, engine and pod or
    project; a leading ``!`` shows the containers that do not match. ``re.error`` if invalid."""

    def matches(self, info: ContainerInfo) -> bool:
        """True when ``info`` is shown under this filter."""
        return self.found(
            (info.name, info.image, info.state, info.health or "", info.engine, group_of(info))
        )


class ContainerListPane(EventPane, FilteredTable[ContainerInfo]):
    """Every container of every engine: state, health, uptime, restarts, exit code, CPU, memory
    against its limit, net and block I/O, pod or compose project.

    Keys (when the table has focus): ``n`` name, ``c`` CPU, ``m`` memory, ``s`` state, ``u``
    uptime sort, ``r`` reverses, ``o`` groups by pod or project; ``/`` filters by regular
    expression (``!`` inverts; esc clears). On a container: ``i`` inspect, ``p`` processes,
    ``h`` stats history, ``l`` logs (enter too); ``U`` start, ``S`` stop, ``R`` restart, ``K``
    kill, ``Z`` pause or unpause, each confirmed, and refused in read-only mode. Rows of
    containers that are restarting, unhealthy or were OOM-killed are marked and drawn as alarms.
    """

    HELP_GROUP: ClassVar[str] = "Containers"

    BINDINGS: ClassVar[list[BindingType]] = [
        *filter_bindings("containers"),
        Binding("n", "sort('name')", "Sort by name", show=False, id="containers.sort_name"),
        Binding("c", "sort('cpu')", "Sort by CPU", show=False, id="containers.sort_cpu"),
        Binding("m", "sort('memory')", "Sort by memory", show=False, id="containers.sort_memory"),
        Binding("s", "sort('state')", "Sort by state", show=False, id="containers.sort_state"),
        Binding("u", "sort('uptime')", "Sort by uptime", show=False, id="containers.sort_uptime"),
        Binding("r", "reverse", "Reverse the sort", show=False, id="containers.reverse"),
        Binding("o", "group", "Group by pod/project", show=False, id="containers.group"),
        Binding("l", "open('logs')", "Logs", id="containers.logs"),
        Binding("i", "open('inspect')", "Inspect", id="containers.inspect"),
        # t for top: p is the console's pin.
        Binding("t", "open('processes')", "Processes", show=False, id="containers.top"),
        Binding("h", "open('stats')", "Stats history", show=False, id="containers.stats"),
        Binding("U", "act('start')", "Start", show=False, id="containers.start"),
        Binding("S", "act('stop')", "Stop", show=False, id="containers.stop"),
        Binding("R", "act('restart')", "Restart", id="containers.restart"),
        Binding("K", "act('kill')", "Kill", show=False, id="containers.kill"),
        Binding("Z", "pause", "Pause/unpause", show=False, id="containers.pause"),
    ]

    DEFAULT_CSS = """
    ContainerListPane {
        height: 1fr;
        & > RowTable { height: 1fr; scrollbar-size-horizontal: 0; }
    }
    """

    class Selected(Message):
        """Posted when a container is chosen (enter): for the app, evidence or the timeline."""

        def __init__(self, pane: ContainerListPane, container: ContainerInfo) -> None:
            super().__init__()
            self.pane = pane
            """The pane the container was selected in."""
            self.container = container
            """The container as the list showed it."""

        @property
        def control(self) -> ContainerListPane:
            """The pane the container was selected in."""
            return self.pane

    class Acted(Message):
        """Posted when an action the engineer confirmed has finished (ok or not)."""

        def __init__(self, pane: ContainerListPane, action: ContainerAction) -> None:
            super().__init__()
            self.pane = pane
            """The pane the action was taken from."""
            self.action = action
            """The outcome, with the equivalent command line."""

    sort_key: reactive[SortKey] = reactive[SortKey]("name")
    """Column the rows are sorted by."""
    sort_reverse: reactive[bool] = reactive(False)
    """True to reverse the sort key's natural order."""
    grouped: reactive[bool] = reactive(True)
    """True to keep the containers of one pod or compose project together."""

    def __init__(
        self,
        control: ContainerControl,
        *,
        read_only: bool | None = None,
        clock: Callable[[], float] = time.time,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the pane.

        Args:
            control: What the pane acts and looks through (never an SDK directly).
            read_only: Refuse actions; None takes the control's own setting.
            clock: Wall-clock time, for uptimes (tests pass a fixed one).
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(
            COLUMNS,
            placeholder="regex on name, image, state, pod (!x excludes) · enter keeps · esc clears",
            id=id,
            classes=classes,
        )
        self.control = control
        self.read_only = control.read_only if read_only is None else read_only
        """True when actions are refused (``--read-only``)."""
        self._clock = clock
        self._lists: dict[str, ContainerList] = {}
        self._stats: dict[tuple[str, str], ContainerStats] = {}
        self._history: dict[tuple[str, str], deque[ContainerStats]] = {}
        self._engines: dict[str, SourceStatus] = {}
        self._rows: dict[str, tuple[tuple[object, ...], ContainerInfo, Row]] = {}
        """Each row shown by key: what it was formatted from, its container and its row."""
        self._notice: tuple[str, bool] | None = None
        """The last action's outcome (text, is an error) for the status line."""

    def on_mount(self) -> None:
        self._show_headers()
        self._show_status()
        # Uptimes move without events; a minute is their resolution.
        self.set_interval(60.0, self._tick)

    def _tick(self) -> None:
        self._stale = True
        self.show_if_due()

    # -- the model --------------------------------------------------------------------------

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, ContainerList):
                self._lists[event.engine] = event
                self._forget_gone(event)
                changed = True
            elif isinstance(event, ContainerStatsBatch):
                for stats in event.stats:
                    key = (event.engine, stats.id)
                    self._stats[key] = stats
                    history = self._history.get(key)
                    if history is None:
                        history = self._history[key] = deque(maxlen=HISTORY)
                    history.append(stats)
                changed = changed or bool(event.stats)
            elif isinstance(event, SourceStatus) and event.source.startswith(_ENGINE_PREFIXES):
                self._engines[event.source] = event
                if event.state is SourceState.UNAVAILABLE:
                    self._lists.pop(event.source, None)  # its containers are not known now
                changed = True
            # Changes and actions show nothing here by themselves: the snapshot that each one
            # brings (within half a second) does, so a crash loop's flood costs no redraws.
        return changed

    def reset(self) -> None:
        # Emptied in place: an open stats screen holds its container's history.
        for history in self._history.values():
            history.clear()
        self._stats.clear()

    def _forget_gone(self, snapshot: ContainerList) -> None:
        """Drop the stats and history of containers no longer listed: memory stays bounded."""
        ids = {info.id for info in snapshot.containers}
        for key in [k for k in self._history if k[0] == snapshot.engine and k[1] not in ids]:
            del self._history[key]
            self._stats.pop(key, None)

    def history(self, engine: str, id: str) -> deque[ContainerStats]:
        """The recent stats reads of one container (live: it keeps growing, bounded)."""
        key = (engine, id)
        if key not in self._history:
            self._history[key] = deque(maxlen=HISTORY)
        return self._history[key]

    @property
    def containers(self) -> list[ContainerInfo]:
        """Every container known, of every engine, unfiltered and unsorted."""
        return [info for snapshot in self._lists.values() for info in snapshot.containers]

    @property
    def shown(self) -> list[ContainerInfo]:
        """The containers in the table, in the order shown."""
        rows = self.filtered(self.containers)
        descending = self._descending
        rows.sort(key=self._sort_value, reverse=descending)
        if self.grouped:
            # Stable: within a group, the order above stands; ungrouped containers last.
            rows.sort(key=lambda info: (group_of(info) == "", group_of(info)))
        return rows

    def _sort_value(self, info: ContainerInfo) -> tuple[float | str, str]:
        stats = self._stats.get((info.engine, info.id))
        key = self.sort_key
        if key == "cpu":
            value: float | str = (stats.cpu_percent or 0.0) if stats else -1.0
        elif key == "memory":
            value = float(stats.mem_usage or 0) if stats else -1.0
        elif key == "state":
            value = info.state
        elif key == "uptime":
            value = self._clock() - info.started_at if info.started_at else -1.0
        else:
            value = info.name.casefold()
        return (value, info.name)

    @property
    def _descending(self) -> bool:
        return (self.sort_key in _DESCENDING) != self.sort_reverse

    # -- the display ------------------------------------------------------------------------

    def show(self) -> None:
        now = self._clock()
        minute = int(now // 60)
        before, rows = self._rows, {}
        for info in self.shown:
            key = f"{info.engine}\0{info.id}"
            stats = self._stats.get((info.engine, info.id))
            basis = (info, stats, minute)
            old = before.get(key)
            if old is not None and old[0] == basis:
                rows[key] = old
            else:
                alarm = bool(marker(info, now)) or (info.state == "exited" and info.exit_code != 0)
                rows[key] = (basis, info, Row(key, cells(info, stats, now), alarm=alarm))
        self._rows = rows
        self.table.set_rows(row for _, _, row in rows.values())
        self._show_status()

    def _show_status(self) -> None:
        parts: list[str] = []
        problem = self.filter_problem
        error = problem is not None
        if problem is not None:
            parts.append(problem)
        else:
            total = self.containers
            running = sum(info.state == "running" for info in total)
            text = f"{count(self.table.row_count)} of {count(len(total))} containers"
            if self.row_filter is not None:
                text += f" matching /{self.row_filter.text}/"
            parts.append(f"{text} · {count(running)} running")
        for status in self._engines.values():
            if status.state is SourceState.UNAVAILABLE:
                retry = ""
                if status.retry_at is not None:
                    retry = f" (retry in {max(0, round(status.retry_at - self._clock()))}s)"
                parts.append(f"{status.reason or status.source + ' unavailable'}{retry}")
                error = True
            elif status.state is SourceState.STARTING and status.source not in self._lists:
                parts.append(f"connecting to {status.source}…")
        if self._notice is not None:
            parts.append(self._notice[0])
            error = error or self._notice[1]
        if self.read_only:
            parts.append("read-only: actions are off")
        self.status_line.say(safe_text(" · ".join(parts)), error=error)

    def _show_headers(self) -> None:
        arrow = "▼" if self._descending else "▲"
        self.table.columns = [
            column._replace(label=column.label + arrow) if column.key == self.sort_key else column
            for column in COLUMNS
        ]

    def _resort(self) -> None:
        if self.is_mounted:
            self._show_headers()
            self.show()

    def watch_sort_key(self) -> None:
        self._resort()

    def watch_sort_reverse(self) -> None:
        self._resort()

    def watch_grouped(self) -> None:
        self._resort()

    # -- the container under the cursor -----------------------------------------------------

    @property
    def current(self) -> ContainerInfo | None:
        """The container under the cursor, if any."""
        key = self.table.cursor_key
        shown = self._rows.get(key) if key is not None else None
        return shown[1] if shown is not None else None

    def pin_selection(self) -> EvidenceDraft | None:
        """The container under the cursor, its state as evidence (the app's p)."""
        info = self.current
        if info is None:
            return None
        listed = self._lists.get(info.engine)
        return draft_from_container(
            info,
            host=listed.host if listed is not None else "",
            ts=listed.ts if listed is not None else time.time(),
            pane=self.id or "containers",
        )

    def jump_to(self, locator: Mapping[str, str]) -> bool:
        """Put the cursor on the pinned container; False when it is gone."""
        for index, row in enumerate(self.table.rows):
            shown = self._rows.get(row.key)
            if shown is not None and locator.get("id") in (shown[1].id, shown[1].name):
                self.table.cursor_row = index
                return True
        return False

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        shown = self._rows.get(event.key)
        if shown is not None:
            self.post_message(self.Selected(self, shown[1]))
            self.action_open("logs")

    # -- filter and sort --------------------------------------------------------------------

    def make_filter(self, text: str) -> ContainerFilter | None:
        """The filter ``text`` means (see ``ContainerFilter``); None for empty text."""
        return ContainerFilter(text) if text else None

    def show_rows(self) -> None:
        """Show the containers again under the filter in force."""
        if self.is_mounted:
            self.show()

    def action_sort(self, key: SortKey) -> None:
        """Sort by ``key`` in its natural order."""
        self.sort_reverse = False
        self.sort_key = key

    def action_reverse(self) -> None:
        """Reverse the order of the sort."""
        self.sort_reverse = not self.sort_reverse

    def action_group(self) -> None:
        """Keep the containers of a pod or project together, or not."""
        self.grouped = not self.grouped

    # -- views and actions ------------------------------------------------------------------

    def action_open(self, view: View) -> None:
        """Open ``view`` of the container under the cursor (its log in the app's log view when
        the app has one)."""
        info = self.current
        if info is not None and not (view == "logs" and self._open_log_view(info)):
            screen = ContainerScreen(
                self.control, info, view=view, history=self.history(info.engine, info.id)
            )
            self.app.push_screen(screen)

    def _open_log_view(self, info: ContainerInfo) -> bool:
        """Show the container's log in the app's log view, following it; False when the app
        has no log view (the container screen's own log view opens instead)."""
        tabs = self.app.query(LogsTab)
        if not tabs:
            return False
        pane = tabs.first().pane
        stream = f"container:{info.engine}:{info.name}"  # the id the control's batches carry
        pane.show_stream(stream)
        following = any(
            worker.node is self and worker.name == stream and not worker.is_finished
            for worker in self.workers
        )
        if not following:
            self.run_worker(self._follow_log(pane, info), name=stream, group="container-logs")
        self.call_later(self.run_action, "app.show_view('logs')")
        return True

    async def _follow_log(self, pane: LogPane, info: ContainerInfo) -> None:
        """Feed the container's log batches to the log pane until the log ends."""
        try:
            async for batch in self.control.logs(info.engine, info.id, info.name):
                pane.feed(batch)
        except EngineError as error:
            self.app.notify(
                f"{info.name}: {error}", title="Log not readable", severity="error", markup=False
            )
            return
        self.app.notify(f"{info.name}: the log ended (stopped or removed)", markup=False)

    def action_pause(self) -> None:
        """Pause a running container, or unpause a paused one."""
        info = self.current
        if info is not None:
            self.action_act("unpause" if info.state == "paused" else "pause")

    def action_act(self, action: Action) -> None:
        """Confirm, then run ``action`` on the container under the cursor (never in read-only)."""
        info = self.current
        if info is None:
            return
        if self.read_only:
            self._say(f"read-only mode: {action} {info.name} refused", error=True)
            self.notify(
                f"Read-only mode: {action} is off.",
                title="Refused",
                severity="warning",
                markup=False,
            )
            return
        command = self.control.command(info.engine, info.name, action)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._act(info, action), group="container-actions")

        self.app.push_screen(ConfirmScreen(action, info.name, info.engine, command), confirmed)

    async def _act(self, info: ContainerInfo, action: Action) -> None:
        self._say(f"{action} {info.name}…", error=False)
        try:
            outcome = await self.control.act(info.engine, info.id, info.name, action)
        except (ReadOnlyError, EngineError) as exc:
            self._say(f"{action} {info.name}: {exc}", error=True)
            return
        if outcome.ok:
            self._say(f"{outcome.command}: done", error=False)
        else:
            self._say(f"{outcome.command}: failed: {outcome.error}", error=True)
            self.notify(
                safe_text(f"{outcome.command}: {outcome.error}"),
                title="Action failed",
                severity="error",
                markup=False,
            )
        self.post_message(self.Acted(self, outcome))

    def _say(self, text: str, *, error: bool) -> None:
        self._notice = (text, error)
        self._show_status()
