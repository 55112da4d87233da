"""The alerts, fleet and topic panes in a small app, driven with Pilot, fed by real sources
through a real broker where the behaviour depends on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import msgspec
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget

from opsconsole.hub import Hub
from opsconsole.sources.base import Source
from opsconsole.sources.events import (
    Alert,
    Event,
    HostPresence,
    HostSample,
    MqttMessage,
    SourceHealth,
    SourceState,
    SourceStatus,
)
from opsconsole.sources.mqtt_alerts import AlertSource
from opsconsole.sources.mqtt_raw import RawSource
from opsconsole.widgets.alerts import AlertsPane
from opsconsole.widgets.fleet import FleetPane
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.topic_tree import MAX_TOPICS, TopicTree
from tests.mqtt.conftest import Broker
from tests.mqtt.helpers import FAST, publish
from tests.test_app import screen_text, wait_screen

NOW = 1_700_000_100.0


class PaneApp(App[None]):
    """One pane, fed from a hub over ``sources`` as the console feeds its panes."""

    def __init__(self, pane: Widget, sources: Sequence[Source] = ()) -> None:
        super().__init__()
        self.pane = pane
        self.hub = Hub(sources, host="console", backoff=FAST)
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.pane

    async def on_mount(self) -> None:
        self._sub = self.hub.subscribe()
        await self.hub.start()
        self._pump = asyncio.create_task(self._feed())
        self.pane.query_one("RowTable").focus()

    async def _feed(self) -> None:
        while not self._sub.closed:
            self.deliver(await self._sub.batch())
            await asyncio.sleep(0.05)

    def deliver(self, events: Sequence[Event]) -> None:
        assert isinstance(self.pane, EventPane)
        self.pane.consume(events)

    async def on_unmount(self) -> None:
        await self.hub.stop()
        self._pump.cancel()

    def on_alerts_pane_acknowledged(self, message: AlertsPane.Acknowledged) -> None:
        self.posted.append(message)

    def on_alerts_pane_silenced(self, message: AlertsPane.Silenced) -> None:
        self.posted.append(message)

    def on_fleet_pane_host_selected(self, message: FleetPane.HostSelected) -> None:
        self.posted.append(message)


async def subscribed(app: PaneApp, pilot) -> None:
    """Wait until every source of the app is live (connected, subscriptions acknowledged)."""
    for _ in range(200):
        if all(s.state is SourceState.LIVE for s in app.hub.statuses()):
            return
        await pilot.pause(0.05)
    raise AssertionError(app.hub.statuses())


def alert(key: str, severity: str = "critical", **values) -> Alert:
    fields = {"ts": NOW - 65, "host": "db-1", "source": "s", "summary": f"{key} is bad"}
    return Alert(key=key, severity=severity, origin="alerts/x", **{**fields, **values})


async def test_alerts_pane_over_a_real_broker_dedups_and_acknowledges(broker: Broker) -> None:
    source = AlertSource(broker.settings())
    app = PaneApp(AlertsPane(), [source])
    async with app.run_test(size=(110, 20)) as pilot:
        await wait_screen(app, pilot, "No alerts")
        await subscribed(app, pilot)
        payload = json.dumps(
            {"severity": "critical", "summary": "disk \x1b[2J full", "host": "db-1"}
        )
        await publish(broker.settings(), [("alerts/disk", payload)] * 3)
        await publish(broker.settings(), [("alerts/cpu", "WARNING: cpu hot")])
        text = await wait_screen(app, pilot, "CRIT", "disk \\x1b[2J full", "cpu hot")
        row = next(line for line in text.splitlines() if "disk" in line)
        assert " 3 " in row and "firing" in row  # three arrivals, one row
        assert text.index("disk") < text.index("cpu hot")  # critical before warning
        await pilot.press("a")
        await wait_screen(app, pilot, "acked")
        assert isinstance(app.posted[-1], AlertsPane.Acknowledged)
        assert app.posted[-1].alert.summary == "disk \x1b[2J full"


async def test_alerts_pane_silence_resolve_and_link_status() -> None:
    pane = AlertsPane(clock=lambda: NOW)
    app = PaneApp(pane)
    async with app.run_test(size=(110, 20)) as pilot:
        app.deliver([alert("a"), alert("b", "warning", ts=NOW - 3700)])
        text = await wait_screen(app, pilot, "a is bad", "b is bad", "1m 5s", "1h 1m")
        assert "2 firing" in text and "1 critical" in text
        await pilot.press("s")  # silences the first row: the critical one
        text = await wait_screen(app, pilot, "silenced")
        assert isinstance(app.posted[-1], AlertsPane.Silenced) and app.posted[-1].until
        app.deliver([alert("b", "warning", resolved=True)])
        await wait_screen(app, pilot, "resolved", "OK")
        down = SourceStatus(
            ts=NOW,
            host="c",
            source="mqtt-alerts:mqtt://b:1883",
            state=SourceState.UNAVAILABLE,
            reason="connection lost",
            retry_at=NOW + 8,
        )
        app.deliver([down])
        await wait_screen(app, pilot, "broker unavailable: connection lost (retry in 8s)")
        flooded = SourceHealth(
            ts=NOW, host="c", source=down.source, degraded="flood: 7,000 messages dropped"
        )
        app.deliver([msgspec.structs.replace(down, state=SourceState.DEGRADED), flooded])
        await wait_screen(app, pilot, "flood: 7,000 messages dropped")
        await pilot.press("x")
        await pilot.pause(0.1)
        assert "b is bad" not in screen_text(app)


async def test_fleet_pane_marks_offline_and_conflicts_and_selects_a_host() -> None:
    pane = FleetPane(local_host="console", clock=lambda: NOW)
    app = PaneApp(pane)
    async with app.run_test(size=(120, 20)) as pilot:
        sample = HostSample(
            ts=NOW - 2, host="web-1", source="fleet:web-1/host", cpu_percent=42.5,
            mem_percent=61.0, load=(3.0, 1.0, 1.0), cpu_count=2,
        )  # fmt: skip
        app.deliver(
            [
                HostPresence(ts=NOW, host="web-1", source="fleet:web-1", online=True),
                sample,
                HostPresence(ts=NOW - 30, host="db-9", source="fleet:db-9", online=False),
                HostPresence(
                    ts=NOW,
                    host="twin",
                    source="fleet:twin",
                    online=True,
                    conflict="2 agents publish as twin",
                ),
                alert("disk", host="web-1"),
                HostSample(ts=NOW, host="console", source="host", cpu_percent=1.0),
            ]
        )
        text = await wait_screen(app, pilot, "web-1", "db-9", "twin", "console")
        assert "4 hosts · 3 up · 1 offline · 1 in conflict" in text
        web = next(line for line in text.splitlines() if "web-1" in line)
        assert "42.5%" in web and "61.0%" in web and "1.50" in web and "CRIT" in web
        assert "offline" in next(line for line in text.splitlines() if "db-9" in line)
        assert "CONFLICT" in text and "2 agents publish as twin" in text
        assert "local" in next(line for line in text.splitlines() if "console" in line)
        await pilot.press("G", "enter")
        await pilot.pause(0.1)
        selected = app.posted[-1]
        assert isinstance(selected, FleetPane.HostSelected) and selected.host == "console"
        assert selected.local


async def test_topic_tree_over_a_real_broker_pretty_prints_the_latest_payload(
    broker: Broker,
) -> None:
    source = RawSource(broker.settings(), topics=("tree/#",))
    app = PaneApp(TopicTree(), [source])
    async with app.run_test(size=(110, 30)) as pilot:
        await subscribed(app, pilot)
        await publish(
            broker.settings(),
            [
                ("tree/a/one", json.dumps({"v": 1})),
                ("tree/a/one", json.dumps({"v": 2, "deep": {"x": [1, 2]}, "evil": "\u009b31m"})),
                ("tree/a/two", b"\xff\xfebinary"),
            ],
        )
        text = await wait_screen(app, pilot, "tree/a/one", "two", "2 topics · 3 messages")
        assert "\\xff\\xfebinary" in text
        await pilot.press("g", "enter")
        text = await wait_screen(app, pilot, '"deep": {')
        assert '  "v": 2,' in text and "\\x9b31m" in text and "\x9b" not in text


async def test_topic_tree_stays_bounded() -> None:
    pane = TopicTree(clock=lambda: NOW)
    app = PaneApp(pane)
    async with app.run_test(size=(110, 20)) as pilot:
        app.deliver(
            [
                MqttMessage(ts=NOW, host="c", source="r", topic=f"t/{i}", payload="x", size=1)
                for i in range(MAX_TOPICS + 50)
            ]
        )
        await wait_screen(app, pilot, f"{MAX_TOPICS:,} topics", "keeping the")
        assert "t/0" not in pane.topics and f"t/{MAX_TOPICS + 49}" in pane.topics
