"""``opsconsole agent --mqtt URL``: publish this host's event stream to an MQTT broker, headless.

The agent needs no terminal: it runs the same hub and sources as the console (the host, and
whatever ``SOURCES`` lists) and publishes their events to the broker, where any console started
with ``--mqtt URL`` shows the host in its fleet view and can drill into it.

Topic scheme (version 1)::

    opsconsole/v1/<host>/presence          HostPresence, retained. online=true at connect and
                                           every HEARTBEAT seconds; online=false on a clean stop,
                                           and as the last will when the agent dies or its link
                                           drops. ``source`` is ``agent:<instance>``, a random id
                                           per run: two ids online at once under one host name
                                           is a conflict.
    opsconsole/v1/<host>/<kind>/<source>   One event as compact JSON (``opsconsole.sources.events``
                                           encode/decode; ``kind`` is its tag field), from the
                                           source with that id, %-encoded into one topic level
                                           (``host``, ``podman%3A%2Frun%2Fpodman%2Fpodman.sock``).

Kinds: ``host.sample``, ``host.processes``, ``container.list`` and ``container.stats`` are state:
retained, and coalesced to at most one message per ``--interval`` seconds per topic (the latest
wins). ``alert`` (including the agent's own threshold alerts, source ``thresholds``),
``container.change``, ``container.action`` and ``log.lines`` are a stream: not retained, and
rate-limited to ``--stream-rate`` messages a second with bursts; the rest are dropped and
counted in the log. The hub's own ``source.*`` events stay local. Payloads over 256 KiB are
not sent. QoS 0, except presence (QoS 1).

Credentials and TLS files come from the environment or the config file, never from the
command line (see ``opsconsole.sources.mqtt_link``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import aiomqtt
import msgspec

from opsconsole.config import (
    DEFAULT_THRESHOLDS,
    Config,
    ConfigError,
    ContainersConfig,
    Threshold,
    load_config,
)
from opsconsole.hub import Hub
from opsconsole.sources.base import Source
from opsconsole.sources.containers import container_sources
from opsconsole.sources.events import Event, HostPresence, SourceHealth, SourceStatus, encode
from opsconsole.sources.host import HostSource
from opsconsole.sources.mqtt_link import (
    PRESENCE,
    MqttConfigError,
    MqttSettings,
    RateGate,
    fleet_topic,
    reconnecting,
)
from opsconsole.sources.text import safe_text
from opsconsole.sources.threshold_alerts import ThresholdAlerts

log = logging.getLogger("opsconsole.agent")

STATE_KINDS: Final = frozenset(
    {"host.sample", "host.processes", "container.list", "container.stats"}
)
"""Kinds whose latest value is the state: retained and coalesced."""
LOCAL_KINDS: Final = frozenset({"source.status", "source.health"})
"""Kinds never published: they describe this agent's hub, not the host."""
MAX_PAYLOAD: Final = 256 * 1024
HEARTBEAT: Final = 30.0
"""Seconds between two presence messages (a console counts an agent gone after three)."""
TICK: Final = 0.5
"""Seconds between two looks at what is due: the agent's own cadence, cheap when idle."""
EXIT_USAGE: Final = 2
EXIT_BROKER: Final = 1
"""The broker refused the agent for good (credentials, certificate)."""


@dataclass(frozen=True)
class AgentOptions:
    """How the agent samples and publishes."""

    settings: MqttSettings
    host: str = field(default_factory=socket.gethostname)
    """The name it publishes as (the topic's ``<host>`` and every event's host)."""
    interval: float = 5.0
    """Seconds between host samples, and at least between two publications of one state topic."""
    stream_rate: float = 20.0
    """Stream messages (alerts, log lines, container changes) a second, in bursts up to 5x."""
    process_rows: int = 50
    thresholds: Mapping[str, Threshold] = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    heartbeat: float = HEARTBEAT
    containers: ContainersConfig = field(default_factory=ContainersConfig)
    """Which container engines to publish (the console's ``[containers]``)."""


def host_sources(options: AgentOptions) -> Iterable[Source]:
    """The host's figures and busiest processes."""
    yield HostSource(
        interval=options.interval, process_rows=options.process_rows, hostname=options.host
    )


def engine_sources(options: AgentOptions) -> Iterable[Source]:
    """Every container engine found, as the console finds them."""
    return container_sources(options.containers, host=options.host)


SOURCES: list[Callable[[AgentOptions], Iterable[Source]]] = [host_sources, engine_sources]
"""What the agent runs: each factory gives the sources of one kind for the options."""


class Publisher:
    """Decides what to publish and when: coalesces state per topic, rate-limits the stream."""

    def __init__(self, options: AgentOptions, instance: str) -> None:
        self.options = options
        self.instance = instance
        self._state: dict[str, bytes] = {}
        """Latest payload per state topic (kept to resend after a reconnect)."""
        self._pending: set[str] = set()
        self._sent_at: dict[str, float] = {}
        self._stream: list[tuple[str, bytes]] = []
        self._gate = RateGate(options.stream_rate, burst=options.stream_rate * 5)
        self.oversized = 0
        self.published = 0

    @property
    def dropped(self) -> int:
        """Stream messages dropped by the rate limit so far."""
        return self._gate.dropped

    def presence(self, online: bool) -> bytes:
        """This agent's presence message (also its last will, with ``online`` false)."""
        return encode(
            HostPresence(
                ts=time.time(),
                host=self.options.host,
                source=f"agent:{self.instance}",
                online=online,
            )
        )

    def take(self, event: Event) -> None:
        """Queue one event of the hub's stream."""
        kind = str(event.__struct_config__.tag)
        if kind in LOCAL_KINDS or isinstance(event, SourceStatus | SourceHealth):
            return
        if event.host != self.options.host:
            event = msgspec.structs.replace(event, host=self.options.host)
        topic = fleet_topic(self.options.host, kind, event.source)
        payload = encode(event)
        if len(payload) > MAX_PAYLOAD:
            self.oversized += 1
            return
        if kind in STATE_KINDS:
            self._state[topic] = payload
            self._pending.add(topic)
        elif self._gate.allow():
            self._stream.append((topic, payload))

    def resend_all(self) -> None:
        """Publish every known state again (after a reconnect)."""
        self._pending.update(self._state)
        self._sent_at.clear()

    def due(self, now: float) -> list[tuple[str, bytes, bool]]:
        """``(topic, payload, retain)`` to publish now: the stream, then state that is due."""
        out = [(topic, payload, False) for topic, payload in self._stream]
        self._stream.clear()
        for topic in sorted(self._pending):
            if now - self._sent_at.get(topic, -1e9) >= self.options.interval:
                out.append((topic, self._state[topic], True))
                self._sent_at[topic] = now
                self._pending.discard(topic)
        self.published += len(out)
        return out


async def serve(
    options: AgentOptions,
    stop: asyncio.Event,
    sources: Iterable[Source] | None = None,
    on_status: Callable[[str | None], None] = lambda reason: None,
) -> str:
    """Run the sources and publish until ``stop`` is set or the broker refuses for good.

    Returns "" after a clean stop (offline presence published), else the permanent reason.
    """
    if sources is None:
        sources = [source for factory in SOURCES for source in factory(options)]
    instance = uuid.uuid4().hex[:12]
    publisher = Publisher(options, instance)
    alerts = ThresholdAlerts(options.thresholds, source="thresholds")
    hub = Hub(sources, host=options.host)
    subscription = hub.subscribe(maxlen=4096)
    presence_topic = fleet_topic(options.host, PRESENCE)
    will = aiomqtt.Will(presence_topic, publisher.presence(False), qos=1, retain=True)
    await hub.start()

    async def session(client: aiomqtt.Client) -> None:
        await client.publish(presence_topic, publisher.presence(True), qos=1, retain=True)
        publisher.resend_all()
        beat = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK)  # events meanwhile come as one batch
            for event in subscription.drain():
                publisher.take(event)
                for alert in alerts.feed(event):
                    publisher.take(alert)
            now = time.monotonic()
            for topic, payload, retain in publisher.due(now):
                await client.publish(topic, payload, retain=retain)
            if now - beat >= options.heartbeat:
                beat = now
                await client.publish(presence_topic, publisher.presence(True), qos=1, retain=True)
        await client.publish(presence_topic, publisher.presence(False), qos=1, retain=True)
        log.info("%s marked offline", safe_text(options.host))

    try:
        return await reconnecting(
            options.settings, session, will=will, on_status=on_status, stop=stop
        )
    finally:
        await hub.stop()
        log.info(
            "published %d messages; %d dropped by the rate limit, %d too large",
            publisher.published,
            publisher.dropped,
            publisher.oversized,
        )


# --- the command --------------------------------------------------------------------------


def options_from(args: argparse.Namespace, config: Config) -> AgentOptions:
    """The agent's options from parsed arguments; MqttConfigError when they cannot work."""
    return AgentOptions(
        settings=config.mqtt.settings(getattr(args, "mqtt", None)),
        host=args.host or socket.gethostname(),
        interval=args.interval,
        stream_rate=args.stream_rate,
        thresholds=config.thresholds,
        containers=config.containers,
    )


def run(args: argparse.Namespace, config: Config | None = None) -> int:
    """Run the agent until SIGTERM, SIGINT or SIGHUP; the exit status.

    ``config`` is the console's configuration (thresholds); None reads the default file and
    the environment.
    """
    logging.basicConfig(
        level=logging.INFO, format="opsconsole agent: %(message)s", stream=sys.stderr
    )
    try:
        config = config or load_config(None, os.environ)
        options = options_from(args, config)
    except (ConfigError, MqttConfigError) as error:
        print(f"opsconsole agent: {error}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_main(options))


async def _main(options: AgentOptions) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    url = options.settings.url

    def on_status(reason: str | None) -> None:
        if reason is None:
            log.info("publishing as %s to %s", safe_text(options.host), url)
        else:
            log.warning("%s", reason)

    reason = await serve(options, stop, on_status=on_status)
    if reason:
        return EXIT_BROKER
    log.info("stopped")
    return 0
