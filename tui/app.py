"""The console application: the shell that holds the panes and feeds them from the hub."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.theme import Theme
from textual.widget import MountError, Widget
from textual.widgets import Static, TabbedContent, TabPane

from opsconsole.config import Config
from opsconsole.hub import Hub
from opsconsole.sources.base import FLEET_PREFIX, Source
from opsconsole.sources.events import Event, ReplayRestart, SourceHealth, SourceStatus
from opsconsole.sources.threshold_alerts import ThresholdAlerts
from opsconsole.themes.builtin import BUILTIN_THEMES, DEFAULT_THEME, start_with_theme
from opsconsole.themes.loader import load_user_themes
from opsconsole.widgets.header import ConsoleHeader
from opsconsole.widgets.host_overview import HostOverview
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.process_table import ProcessTablePane
from opsconsole.widgets.replay_clock import ReplayClock
from opsconsole.widgets.view_tabs import ViewTabs

if TYPE_CHECKING:  # the views after the dashboard load their modules after the first frame
    from textual.driver import Driver
    from textual.timer import Timer

    from opsconsole.capture import FlightRecorder, UiRecording
    from opsconsole.sources.bundle_source import ReplayControl
    from opsconsole.sources.containers import ContainerControl, ContainerSource
    from opsconsole.widgets.fleet import FleetPane
    from opsconsole.widgets.log_patterns import PatternsPane

MIN_WIDTH, MIN_HEIGHT = 60, 16
"""Below this the panes cannot be drawn legibly; the console says so instead."""

BATCH_INTERVAL = 0.1
"""Least seconds between two deliveries of data to the panes, so a burst arrives as one."""
FIRST_DATA_WAIT = 0.5
"""Seconds after the first frame that building the other views waits at most for the first
data (the host's figures live) to be drawn first."""

# (tab id, title, key) of the views; the number keys switch between them.
VIEWS = (
    ("dashboard", "Dashboard", "1"),
    ("processes", "Processes", "2"),
    ("host", "Host", "3"),
    ("containers", "Containers", "4"),
    ("logs", "Logs", "5"),
    ("alerts", "Alerts", "6"),
    ("investigation", "Investigation", "7"),
    ("fleet", "Fleet", "8"),
    ("topics", "Topics", "9"),
    ("sources", "Sources", "0"),
)
PENDING = "views-pending"
"""The tab that stands for the views after the dashboard until they are built: one tab whose
label is all of theirs side by side looks the same, and 18 tabs and panes fewer cost the first
frame about 85M instructions less (a tab is dearer than most widgets)."""


class OpsConsoleApp(App[int]):
    """The opsconsole shell: a header, views in tabs, a footer of keys.

    Panes never call a source: the hub runs the sources, and one pump hands each batch of
    events to every mounted EventPane.
    """

    TITLE = "opsconsole"
    # Keys are global unless a focused widget (a filter input) takes them first.
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("f", "toggle_freeze", "Freeze", id="app.freeze"),
        Binding("t", "cycle_theme", "Theme", show=False, id="app.theme"),
        Binding("p", "pin", "Pin", id="app.pin"),
        Binding("ctrl+r", "toggle_recording", "Record", show=False, id="app.record"),
        Binding("ctrl+b", "write_flight", "Flight recording", show=False, id="app.flight"),
        # The replay clock's keys, from every view (a focused pane's own key wins).
        *(
            Binding(b.key, f"replay('{b.action}')", b.description, show=False, id=f"app.{b.id}")
            for b in ReplayClock.BINDINGS
            if isinstance(b, Binding)
        ),
        Binding("ctrl+p,colon", "command_palette", "Commands", show=False, id="app.commands"),
        *(
            # Not in the footer: the tabs already show each view's number.
            Binding(key, f"show_view('{view}')", title, show=False, id=f"app.view.{view}")
            for view, title, key in VIEWS
        ),
    ]

    CSS = """
    Screen { background: $background; }
    #too-small {
        display: none;
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        text-style: bold;
        color: $warning;
    }
    Screen.-too-small #too-small { display: block; }
    Screen.-too-small #view-tabs, Screen.-too-small #views { display: none; }
    #dashboard-host { height: auto; max-height: 60%; }
    #dashboard-processes { height: 1fr; }
    /* The dashboard shows the top of the list, as top and htop do, and its status line
       counts the rest: a scrollbar there was redrawn whole (a line per row) whenever a
       process came or went; view 2 keeps one. */
    #dashboard-processes RowTable { scrollbar-size-vertical: 0; }
    #log-patterns { height: 30%; }
    TabbedContent { height: 1fr; }
    /* The view tabs above draw the labels: every widget of these is rendered again whenever
       the clock and the figures change in one frame. */
    #views > ContentTabs { display: none; }
    TabPane { padding: 0; }
    """

    def __init__(
        self,
        config: Config,
        sources: Sequence[Source],
        *,
        hostname: str | None = None,
        theme_dir: Path | None = None,
        engines: Callable[[], Sequence[ContainerSource]] | None = None,
        raw_mqtt: Source | None = None,
        replay: ReplayControl | None = None,
    ) -> None:
        """Create the console.

        Args:
            config: The settings.
            sources: What feeds the panes (the hub runs them).
            hostname: This host's name (default: the system's).
            theme_dir: Where user themes are read from; None reads none.
            engines: Finds the container engines, which the container pane looks into and
                acts on and the hub runs as sources. Called in a thread after the first frame
                (their modules and the search cost the start about 25M instructions); None for
                none (a replay: nothing to act on).
            raw_mqtt: The broker's every message, started when the Topics view is first shown.
            replay: The clock of a replayed bundle (play, pause, speed, seek); None live.
        """
        super().__init__()
        self.config = config
        self.hostname = hostname or socket.gethostname()
        self.hub = Hub(sources, host=self.hostname)
        self._find_engines = engines
        self.containers: ContainerControl | None = None
        """Looks into and acts on containers; made with the views after the dashboard."""
        self._raw_mqtt = raw_mqtt
        self.replay = replay
        self._recording: UiRecording | None = None
        self.flight: FlightRecorder | None = None
        """Keeps the last minutes of the stream to write on demand or on a critical alert;
        None unless ``general.flight_recorder_minutes`` turns it on."""
        self.thresholds = ThresholdAlerts(config.thresholds)
        """Alerts from this host's own figures crossing the thresholds."""
        self._stream_time = 0.0
        """The newest event time delivered: the clock of a replay."""
        self._early: list[Event] | None = []
        """Every batch delivered before the views after the dashboard were filled; None after."""
        self._panes: list[EventPane] | None = None
        """Every pane of the main screen, once the views are filled."""
        self._fill_timer: Timer | None = None
        """Builds the other views if no data came first; None once they are asked for."""
        self._wanted_view: str | None = None
        """The view last asked for before the views were built, shown once they are."""
        self._pump_task: asyncio.Task[None] | None = None
        self.frozen = False
        for theme in BUILTIN_THEMES:
            self.register_theme(theme)
        self._theme_errors: list[str] = []
        user_themes: list[Theme] = []
        if theme_dir is not None:
            user_themes, self._theme_errors = load_user_themes(theme_dir)
            for theme in user_themes:
                self.register_theme(theme)
        self._cycle = [theme.name for theme in (*BUILTIN_THEMES, *user_themes)]
        """The themes ``t`` cycles through: ours and the user's (Textual's stay in the palette)."""
        self._set_theme(config.theme)

    def get_driver_class(self) -> type[Driver]:
        # Textual's, but for an input thread that does not wake ten times a second for keys.
        from opsconsole.driver import quiet_driver

        return quiet_driver(super().get_driver_class())

    # -- layout -----------------------------------------------------------------------

    @property
    def _history_samples(self) -> int:
        """Samples of history the host panes keep: the configured minutes at this refresh."""
        return max(1, round(self.config.history_minutes * 60 / self.config.refresh))

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(
            self.hostname, live=self.hub.live, read_only=self.config.read_only, id="header"
        )
        if self.replay is not None:
            yield ReplayClock(self.replay, id="replay-clock")
        yield Static(id="too-small", markup=False)
        # Every label at once, drawn by one widget: TabbedContent's own tabs are hidden.
        yield ViewTabs(
            [(view, f"{key} {title}") for view, title, key in VIEWS],
            active="dashboard",
            id="view-tabs",
        )
        with TabbedContent(initial="dashboard", id="views"):
            with TabPane("1 Dashboard", id="dashboard"):
                yield HostOverview(
                    thresholds=self.config.thresholds,
                    history=self._history_samples,
                    id="dashboard-host",
                )
                yield ProcessTablePane(id="dashboard-processes")
            # The other views come once the first figures are drawn (``_fill_views``): the
            # dashboard is what the engineer needs first, and their modules load then.
            yield TabPane("  ".join(f"{key} {title}" for _, title, key in VIEWS[1:]), id=PENDING)
        # The footer comes with the other views (``_fill_views``): it shows no key before the
        # first bindings update anyway, and its styles cost about 15M instructions.

    async def on_load(self) -> None:
        # Start sampling before the screen is built, so the first figures are ready by the
        # time it is: the sources work in threads while the UI thread composes.
        self._subscription = self.hub.subscribe()
        await self.hub.start()
        # One turn of the loop lets each source's task begin opening (the host's thread takes
        # its first sample) while the screen is composed, not after.
        await asyncio.sleep(0)
        if self.hub.live and self.config.flight_recorder_minutes:
            from opsconsole.capture import FlightRecorder

            self.flight = FlightRecorder(
                self.hub,
                minutes=self.config.flight_recorder_minutes,
                host=self.hostname,
                config=self.config,
                on_written=self._flight_written,
            )
            self.flight.start()

    async def on_mount(self) -> None:
        for message in self._theme_errors:
            self.notify(
                message, title="Theme not loaded", severity="warning", timeout=10, markup=False
            )
        self._check_size(self.size.width, self.size.height)
        self._focus_view(self.query_one("#dashboard", TabPane))
        self._pump_task = asyncio.create_task(self._pump(), name="opsconsole:pump")
        self._fill_timer = self.set_timer(FIRST_DATA_WAIT, self._fill_views_after_refresh)

    def _fill_views_after_refresh(self) -> None:
        """Build the other views once the frame now due is drawn; the first call only."""
        # Building them holds the UI thread for about a quarter of a second: started just
        # before the first figures arrived, it made them wait that long to be drawn.
        if self._fill_timer is None:
            return
        self._fill_timer.stop()
        self._fill_timer = None
        self.call_after_refresh(self._fill_views)

    def _view_contents(self, containers: ContainerControl) -> dict[str, list[Widget]]:
        """What each view after the dashboard holds, by view id."""
        from opsconsole.widgets.alerts import AlertsPane
        from opsconsole.widgets.container_list import ContainerListPane
        from opsconsole.widgets.fleet import FleetPane
        from opsconsole.widgets.host_detail import HostDetail
        from opsconsole.widgets.investigation import InvestigationView
        from opsconsole.widgets.log_patterns import PatternsPane
        from opsconsole.widgets.log_view import LogsTab
        from opsconsole.widgets.sources_pane import SourcesPane
        from opsconsole.widgets.topic_tree import TopicTree

        history, thresholds = self._history_samples, self.config.thresholds
        return {
            "processes": [ProcessTablePane(id="processes-table")],
            "host": [HostDetail(thresholds=thresholds, history=history, id="host-detail")],
            "containers": [
                ContainerListPane(
                    containers,
                    read_only=self.config.read_only,
                    clock=self.now,
                    id="containers-list",
                )
            ],
            "logs": [LogsTab(id="logs-tab"), PatternsPane(id="log-patterns")],
            "alerts": [AlertsPane(clock=self.now, id="alerts-list")],
            "investigation": [
                InvestigationView(self.config.investigation, id="investigation-view")
            ],
            "fleet": [FleetPane(local_host=self.hostname, clock=self.now, id="fleet-hosts")],
            "topics": [TopicTree(clock=self.now, id="topics-tree")],
            "sources": [SourcesPane(id="sources-table")],
        }

    async def _fill_views(self) -> None:
        gc.enable()  # off for the start: see cli._console
        from textual.widgets import Footer

        from opsconsole.sources.containers import ContainerControl
        from opsconsole.widgets.investigation import install_hangup_handler

        if self._find_engines is None:
            self.containers = ContainerControl([], read_only=True)
        else:
            # In a thread: the search looks at sockets, and the adapters' modules load there.
            engines = await asyncio.to_thread(self._find_engines)
            self.containers = ContainerControl(engines, read_only=self.config.read_only)
            for engine in engines:
                self.hub.add(engine)  # it starts them at once, or (quit meanwhile) never
        contents = self._view_contents(self.containers)
        try:
            await self.mount(Footer())
            self.refresh_bindings()  # it fills in on this signal, sent before it came
            views = self.query_one("#views", TabbedContent)
            # Built whole before the next frame, so the tab row never shows both the real
            # tabs and the one that stood for them, nor neither.
            with self.batch_update():
                for view, title, key in VIEWS[1:]:
                    pane = TabPane(f"{key} {title}", *contents[view], id=view)
                    await views.add_pane(pane, before=PENDING)
                await views.remove_pane(PENDING)
        except (MountError, NoMatches):
            return  # quit while they were built: nothing left to fill
        late = [
            pane
            for widgets in contents.values()
            for widget in widgets
            for pane in (widget, *widget.query(EventPane))
            if isinstance(pane, EventPane)
        ]
        # What the dashboard was given meanwhile, so the late views miss nothing (history,
        # alerts, the timeline); from now on every pane is given every batch.
        early, self._early = self._early or [], None
        self._hand_over(early, late)
        # The panes are fixed from here on (no view mounts one later): walking the whole DOM
        # for them at every batch cost more than handing the batch over.
        self._panes = list(self.screen_stack[0].query(EventPane))
        install_hangup_handler(self)
        if self._wanted_view is not None:
            self.action_show_view(self._wanted_view)

    async def on_unmount(self) -> None:
        if self._recording is not None:
            await self._stop_recording()
        if self.flight is not None:
            await self.flight.stop()
        await self.hub.stop()
        if self._pump_task is not None:
            self._pump_task.cancel()

    # -- the pump from hub to panes -----------------------------------------------------

    async def _pump(self) -> None:
        # Data is delivered at most every BATCH_INTERVAL, so a burst reaches the panes as one
        # update; a batch of status changes alone (rare, cheap) does not hold back the data
        # that follows it, which keeps the first full screen quick.
        loop = asyncio.get_running_loop()
        last_data = -BATCH_INTERVAL
        while True:
            await self._subscription.wait()
            if self._subscription.closed:
                return  # the hub stopped
            if (wait := last_data + BATCH_INTERVAL - loop.time()) > 0:
                await asyncio.sleep(wait)
            batch = self._subscription.drain()
            if not self.screen_stack:
                return  # closing: the screens go before on_unmount stops the hub and this
            for event in batch:
                if not event.source.startswith(FLEET_PREFIX):
                    # Published, so the recorder and the timeline see them too; they come
                    # back through the hub with the next batch.
                    for alert in self.thresholds.feed(event):
                        self.hub.publish(alert)
            self.deliver(batch)
            if not all(isinstance(event, SourceStatus | SourceHealth) for event in batch):
                last_data = loop.time()
                self._fill_views_after_refresh()

    @property
    def caught_up(self) -> bool:
        """True when every view is built and has been given every event published so far
        (what a test waits for before it reads the screen of a replay)."""
        return self._panes is not None and not self._subscription.pending

    def deliver(self, batch: Sequence[Event]) -> None:
        """Hand one batch of events to every pane on the main screen (this host's events only,
        but for the fleet panes), and a fleet host's to its screen when one is open."""
        # A replay seeking back gives everything again from its start: what came before the
        # restart is forgotten, so nothing shows twice and the clock goes back. (Live, no
        # batch has one: the check is not paid there.)
        restart = None if self.hub.live else _last_restart(batch)
        if restart is not None:
            batch = batch[restart + 1 :]
            self._stream_time = 0.0
            if self._early is not None:
                self._early.clear()
            for pane in self._panes or self.screen_stack[0].query(EventPane):
                pane.reset()
        # The hub's own status events carry the wall clock, not the recording's: not counted.
        self._stream_time = max(
            (event.ts for event in batch if not isinstance(event, SourceStatus | SourceHealth)),
            default=self._stream_time,
        )
        panes = self._panes
        if panes is None:  # the views after the dashboard are being filled
            assert self._early is not None
            self._early.extend(batch)
            dashboard = self.query_one("#dashboard", TabPane)
            panes = [
                pane
                for pane in self.screen_stack[0].query(EventPane)
                if pane.parent is self.screen_stack[0] or dashboard in pane.ancestors
            ]
        self._hand_over(batch, panes)
        if len(self.screen_stack) > 1:
            from opsconsole.fleet_host import FleetHostScreen  # loaded once a screen is open

            for screen in self.screen_stack[1:]:
                if isinstance(screen, FleetHostScreen):
                    screen.consume(batch)

    @staticmethod
    def _hand_over(batch: Sequence[Event], panes: Iterable[EventPane]) -> None:
        """Give ``batch`` to ``panes``: all of it to the fleet's, this host's events to others."""
        local = [event for event in batch if not event.source.startswith(FLEET_PREFIX)]
        for pane in panes:
            pane.consume(batch if pane.fleet_events else local)

    def now(self) -> float:
        """The time ages are counted to: the wall clock live, the recording's time in a replay
        (an alert recorded a minute after it fired is a minute old, whenever it is replayed)."""
        return time.time() if self.hub.live else self._stream_time

    def on_fleet_pane_host_selected(self, message: FleetPane.HostSelected) -> None:
        if message.local:
            self.action_show_view("dashboard")
            return
        from opsconsole.fleet_host import FleetHostScreen

        screen = FleetHostScreen(
            message.host, thresholds=self.config.thresholds, history=self._history_samples
        )
        self.push_screen(screen)
        screen.call_after_refresh(screen.consume, self.hub.snapshot())

    def on_patterns_pane_pattern_selected(self, message: PatternsPane.PatternSelected) -> None:
        from opsconsole.widgets.log_view import FilterSpec, LogView

        # Picking a pattern shows the lines it groups.
        self.query_one(LogView).apply_filter(
            FilterSpec(include=[message.regex], text=f"pattern #{message.pattern_id}")
        )
        self.query_one(LogView).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay":
            return self.replay is not None  # live, the replay keys do nothing and are not shown
        return True

    def action_replay(self, action: str) -> None:
        """Run one of the replay clock's actions: play_pause, faster, slower, back, forward,
        next_alert, next_error."""
        for clock in self.query(ReplayClock):
            getattr(clock, f"action_{action}")()

    async def action_toggle_recording(self) -> None:
        """Start recording the stream into a bundle, or stop and write it."""
        if self._recording is not None:
            await self._stop_recording()
            return
        from opsconsole.capture import UiRecording

        if not self.hub.live:
            self.notify("A replay is not recorded again: it is a bundle already.")
            return
        self._recording = UiRecording(self.hub, config=self.config, host=self.hostname)
        self.query_one(ConsoleHeader).recording = True
        self.notify("Recording: ctrl+r again stops and writes the bundle.")

    async def _stop_recording(self) -> None:
        from opsconsole.bundle import BundleError

        recording, self._recording = self._recording, None
        if recording is None:
            return
        self.query_one(ConsoleHeader).recording = False
        try:
            path = await recording.stop()
        except (OSError, BundleError) as error:
            self.notify(f"Recording not written: {error}", severity="error", markup=False)
        else:
            self.notify(f"Recording written: {path}", markup=False, timeout=10)

    async def action_write_flight(self) -> None:
        """Write the flight recorder's last minutes as a bundle."""
        if self.flight is None:
            self.notify("The flight recorder is off: set general.flight_recorder_minutes.")
            return
        await self.flight.write()

    def _flight_written(self, path: Path | None, error: str | None) -> None:
        if path is not None:
            self.notify(f"Flight recording written: {path}", markup=False, timeout=10)
        else:
            self.notify(f"Flight recording failed: {error}", severity="error", markup=False)

    def action_pin(self) -> None:
        """Pin what is selected in the focused pane as evidence of the open incident."""
        from opsconsole.widgets.investigation import InvestigationView

        for view in self.query(InvestigationView):
            view.pin_focused()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "views":
            return  # tabs inside a view (the investigation's sections) are the view's own
        if event.pane.id == PENDING:  # clicked before the views it stands for were built
            event.tabbed_content.active = "dashboard"
            return
        self.query_one(ViewTabs).active = event.pane.id or ""
        if event.pane.id == "topics" and self._raw_mqtt is not None:
            # Every message on the broker costs something: only once someone looks.
            self.hub.add(self._raw_mqtt)
            self._raw_mqtt = None
        # Panes of a hidden view skip redraws; bring the newly shown ones up to date.
        for pane in event.pane.query(EventPane):
            pane.show_if_due()

        # After the switch is drawn (a widget in a view still hidden cannot take the focus),
        # and only if no other switch came since: focusing a view also activates it.
        def focus_if_current() -> None:
            if event.tabbed_content.active_pane is event.pane:
                self._focus_view(event.pane)

        self.call_after_refresh(focus_if_current)

    def on_view_tabs_chosen(self, event: ViewTabs.Chosen) -> None:
        self.action_show_view(event.view)

    def _focus_view(self, view: Widget) -> None:
        """Give the keyboard to the first focusable widget of ``view``, so j/k act at once."""
        for widget in view.query("*"):
            if widget.focusable:
                widget.focus()
                return

    # -- size ---------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.screen.set_class(too_small, "-too-small")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"Terminal too small: {width}x{height}\nopsconsole needs {MIN_WIDTH}x{MIN_HEIGHT}"
            )

    # -- actions ------------------------------------------------------------------------

    def action_show_view(self, view: str) -> None:
        """Switch to one of the views (once they are built: at once, the one asked for last)."""
        if self._panes is None:
            self._wanted_view = view
        else:
            self.query_one("#views", TabbedContent).active = view

    def action_help(self) -> None:
        """Show every key, grouped by where it works."""
        from opsconsole.help import HelpScreen, binding_groups

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(list(binding_groups(self, self.screen))))

    def action_toggle_freeze(self) -> None:
        """Freeze the display; collection and history go on underneath."""
        self.frozen = not self.frozen
        for pane in self.query(EventPane):
            if isinstance(pane, ConsoleHeader):
                pane.display_frozen = self.frozen
            else:
                pane.frozen = self.frozen
        self.notify("Display frozen: press f to resume" if self.frozen else "Display live")

    def action_cycle_theme(self) -> None:
        """Switch to the next of our themes and the user's."""
        index = self._cycle.index(self.theme) + 1 if self.theme in self._cycle else 0
        self.theme = self._cycle[index % len(self._cycle)]
        self.notify(f"Theme: {self.theme}")

    def _set_theme(self, name: str) -> None:
        if name not in self.available_themes:
            self._theme_errors.append(f"Unknown theme {name!r}; using {DEFAULT_THEME}.")
            name = DEFAULT_THEME
        start_with_theme(self, name)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own commands, then every key binding of ours, as the help screen lists them."""
        from opsconsole.help import binding_groups

        yield from super().get_system_commands(screen)
        for title, node, bindings in binding_groups(self, screen):
            for binding in bindings:
                key = self.get_key_display(binding)
                yield SystemCommand(
                    f"{title}: {binding.description}",
                    f"key {key}",
                    partial(self.run_action, binding.action, node),
                )


def _last_restart(batch: Sequence[Event]) -> int | None:
    """The index of the last ``replay.restart`` in ``batch``, or None."""
    for index in range(len(batch) - 1, -1, -1):
        if isinstance(batch[index], ReplayRestart):
            return index
    return None


def run_console(config: Config, *, replay: Path | None = None, speed: float = 1.0) -> int:
    """Run the full-screen console on this host (or replaying ``replay``); the exit status."""
    from opsconsole.paths import themes_dir

    sources: list[Source]
    find_engines: Callable[[], Sequence[ContainerSource]] | None = None
    raw_mqtt: Source | None = None
    if replay is not None:
        from opsconsole.sources.replay import ReplaySource

        sources = [ReplaySource(replay, speed=speed)]
        hostname: str | None = "replay"  # until the recording names its host
    else:
        from opsconsole.sources.host import HostSource

        hostname = host = socket.gethostname()
        sources = [HostSource(interval=config.refresh, process_rows=config.process_rows)]

        def find_engines() -> list[ContainerSource]:
            from opsconsole.sources.containers import container_sources

            return container_sources(config.containers, host=host)

        if config.mqtt.url:
            from opsconsole.sources.fleet import FleetSource
            from opsconsole.sources.mqtt_alerts import AlertSource
            from opsconsole.sources.mqtt_link import MqttConfigError
            from opsconsole.sources.mqtt_raw import RawSource

            try:
                settings = config.mqtt.settings()
            except MqttConfigError as error:
                print(f"opsconsole: {error}", file=sys.stderr)
                return 2
            sources += [AlertSource(settings, host=hostname), FleetSource(settings, host=hostname)]
            raw_mqtt = RawSource(settings, host=hostname)
    app = OpsConsoleApp(
        config,
        sources,
        hostname=hostname,
        theme_dir=themes_dir(),
        engines=find_engines,
        raw_mqtt=raw_mqtt,
    )
    app.run()
    return app.return_code or 0
