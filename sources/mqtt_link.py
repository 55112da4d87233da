"""The link to an MQTT broker: settings, connecting, and a base for sources that subscribe.

Headless (no textual). Settings come from the configuration file or the environment, never from
the command line in clear: a password in a broker URL is refused, because argv is readable by
every user of the box (``ps``) and lands in shell history. The URL itself (``mqtt://host:port``
or ``mqtts://host:port``, with at most a user name) may be given as an option.

Environment variables (read by ``MqttSettings.from_url``):

    OPSCONSOLE_MQTT_USERNAME, OPSCONSOLE_MQTT_PASSWORD (or OPSCONSOLE_MQTT_PASSWORD_FILE)
    OPSCONSOLE_MQTT_CA, OPSCONSOLE_MQTT_CERT, OPSCONSOLE_MQTT_KEY   (paths, PEM)
    OPSCONSOLE_MQTT_CLIENT_ID, OPSCONSOLE_MQTT_KEEPALIVE

A failed connection is a ``SourceUnavailable``: a broker that is down or restarting is retried
with backoff (by the hub for sources, by ``reconnecting`` for the agent); refused credentials and
a certificate that does not verify are permanent, so a wrong password gives one clear message,
not a retry storm in the broker's log.
"""

from __future__ import annotations

import asyncio
import math
import os
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.events import Event, SourceHealth
from opsconsole.sources.text import safe_text

DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}

MAX_PAYLOAD: Final = 256 * 1024
"""Payload bytes a subscriber looks into at most; a larger message is reported, not parsed."""

_AUTH_CODES: Final = frozenset({4, 5, 134, 135})
"""CONNACK codes for bad credentials and not authorised (MQTT 3.1.1 and 5). Only a CONNACK
means these: paho uses 4 for "not connected" elsewhere."""


class MqttConfigError(ValueError):
    """Settings that cannot work (a bad URL, a password on the command line); one clear line."""


@dataclass(frozen=True)
class MqttSettings:
    """How to reach the broker. ``password`` is never shown (repr) nor taken from a URL."""

    host: str = "localhost"
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    """CA bundle that signs the broker's certificate (PEM); None for the system's."""
    cert_file: Path | None = None
    """Client certificate (PEM), for brokers that require one."""
    key_file: Path | None = None
    client_id: str = ""
    """Empty: a fresh ``opsconsole-<random>`` each run, so two consoles never kick each other."""
    keepalive: int = 30
    """Seconds between pings; the broker fires a last will after 1.5 times this of silence."""
    timeout: float = 10.0
    """Seconds to wait for the broker to answer a connect, subscribe or publish."""
    queue: int = 20_000
    """Received messages held at most before they are dropped (and counted): a flood stays
    bounded in memory."""
    queue_bytes: int = 64 << 20
    """Payload bytes held at most, likewise: a flood of megabyte messages stays bounded too."""

    @property
    def url(self) -> str:
        """The broker as a URL, without credentials (safe to show and log)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @classmethod
    def from_url(
        cls, url: str, env: Mapping[str, str] | None = None, **file_values: object
    ) -> MqttSettings:
        """Settings for ``url`` with ``file_values`` (the config file's, by field name, None
        for unset) under the credentials and TLS files of ``env`` (default: the process
        environment), as the config's precedence goes: environment over file."""
        env = os.environ if env is None else env
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise MqttConfigError(
                f"broker URL {safe_text(url)!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
            )
        if parts.password is not None:
            raise MqttConfigError(
                "broker URL: a password on the command line is visible to every user (ps); "
                "set OPSCONSOLE_MQTT_PASSWORD or OPSCONSOLE_MQTT_PASSWORD_FILE, or the config file"
            )
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise MqttConfigError(f"broker URL {safe_text(url)!r}: bad port") from None
        if not parts.hostname:
            raise MqttConfigError(f"broker URL {safe_text(url)!r}: no host")
        values: dict[str, object] = {
            "host": parts.hostname,
            "port": port,
            "tls": parts.scheme == "mqtts",
            "username": unquote(parts.username) if parts.username else None,
        }
        values.update({k: v for k, v in file_values.items() if v is not None})
        values.update(_from_env(env))
        return cls(**values)  # type: ignore[arg-type]

    def client(self, *, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
        """An aiomqtt client for these settings (not yet connected)."""
        tls_context = None
        if self.tls or self.ca_file is not None:
            tls_context = ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file else None
            )
            if self.cert_file is not None:
                tls_context.load_cert_chain(
                    str(self.cert_file), str(self.key_file) if self.key_file else None
                )
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id or f"opsconsole-{uuid.uuid4().hex[:12]}",
            will=will,
            keepalive=self.keepalive,
            timeout=self.timeout,
            tls_context=tls_context,
            queue_type=_bounded_queue(self.queue, self.queue_bytes),
        )


def _from_env(env: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if user := env.get("OPSCONSOLE_MQTT_USERNAME"):
        values["username"] = user
    if password := env.get("OPSCONSOLE_MQTT_PASSWORD"):
        values["password"] = password
    elif password_file := env.get("OPSCONSOLE_MQTT_PASSWORD_FILE"):
        try:
            values["password"] = Path(password_file).read_text().rstrip("\r\n")
        except OSError as exc:
            raise MqttConfigError(
                f"$OPSCONSOLE_MQTT_PASSWORD_FILE: {safe_text(password_file)}: {exc.strerror or exc}"
            ) from None
    for name, key in (("CA", "ca_file"), ("CERT", "cert_file"), ("KEY", "key_file")):
        if path := env.get(f"OPSCONSOLE_MQTT_{name}"):
            values[key] = Path(path)
    if client_id := env.get("OPSCONSOLE_MQTT_CLIENT_ID"):
        values["client_id"] = client_id
    if keepalive := env.get("OPSCONSOLE_MQTT_KEEPALIVE"):
        try:
            values["keepalive"] = max(5, min(3600, int(keepalive)))
        except ValueError:
            raise MqttConfigError(
                f"$OPSCONSOLE_MQTT_KEEPALIVE: expected whole seconds, got {safe_text(keepalive)!r}"
            ) from None
    return values


class DropCounter:
    """Messages the client's bounded queue refused, counted instead of logged one by one."""

    def __init__(self) -> None:
        self.dropped = 0


def _bounded_queue(size: int, max_bytes: int) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt bounded in messages (``size``) and payload bytes
    (``max_bytes``) that drops, and counts on ``drops``, what does not fit.

    aiomqtt logs a warning for every message its full queue discards, which in a flood is a
    second flood; and a count alone does not bound memory when messages are a megabyte each.
    """

    class BoundedQueue(asyncio.Queue[aiomqtt.Message]):
        drops = DropCounter()

        def __init__(self, maxsize: int = 0) -> None:
            super().__init__(maxsize=size)
            self.bytes = 0

        def put_nowait(self, item: aiomqtt.Message) -> None:
            weight = _weight(item)
            if self.full() or self.bytes + weight > max_bytes:
                self.drops.dropped += 1
                return
            self.bytes += weight
            super().put_nowait(item)

        def _get(self) -> aiomqtt.Message:
            item: aiomqtt.Message = super()._get()
            self.bytes -= _weight(item)
            return item

    return BoundedQueue


def _weight(message: aiomqtt.Message) -> int:
    payload = message.payload
    return len(payload) if isinstance(payload, bytes | bytearray | str) else 8


def dropped_by(client: aiomqtt.Client) -> int:
    """Messages ``client`` dropped because its queue was full."""
    queue = client._queue  # aiomqtt offers no public handle on its queue
    counter = getattr(queue, "drops", None)
    return counter.dropped if isinstance(counter, DropCounter) else 0


def describe(exc: BaseException) -> str:
    """A short, safe reason for a connection failure."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, aiomqtt.MqttError) and cause is not None and str(cause) not in text:
        text = f"{text}: {cause}"
    return safe_text(text)[:300]


def unavailable(settings: MqttSettings, exc: BaseException) -> SourceUnavailable:
    """The SourceUnavailable for a failed connect: permanent for refused credentials and
    certificates that do not verify, retried for everything else."""
    reason = describe(exc)
    if isinstance(exc, MqttConnectError) and _code(exc.rc) in _AUTH_CODES:
        who = f"user {settings.username!r}" if settings.username else "anonymous"
        return SourceUnavailable(
            f"{settings.url}: broker refused {who} ({reason}); check "
            "OPSCONSOLE_MQTT_USERNAME/PASSWORD and restart",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in reason:
        return SourceUnavailable(
            f"{settings.url}: TLS certificate not trusted ({reason}); check OPSCONSOLE_MQTT_CA",
            permanent=True,
        )
    if isinstance(exc, OSError | ssl.SSLError) and not isinstance(exc, ConnectionError):
        reason = f"{type(exc).__name__}: {reason}"
    return SourceUnavailable(f"{settings.url}: {reason}")


def _code(rc: object) -> int | None:
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else None


async def connect(settings: MqttSettings, *, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
    """A connected client; SourceUnavailable (see ``unavailable``) when it cannot connect."""
    client = settings.client(will=will)
    try:
        await client.__aenter__()
    except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
        raise unavailable(settings, exc) from None
    return client


async def disconnect(client: aiomqtt.Client | None) -> None:
    """Leave the broker politely when possible; never raises."""
    if client is None:
        return
    try:
        await client.__aexit__(None, None, None)
    except Exception:  # already gone: nothing more to release
        return


async def reconnecting(
    settings: MqttSettings,
    session: Callable[[aiomqtt.Client], Awaitable[None]],
    *,
    will: aiomqtt.Will | None = None,
    on_status: Callable[[str | None], None] = lambda reason: None,
    stop: asyncio.Event | None = None,
    initial: float = 1.0,
    maximum: float = 60.0,
) -> str:
    """Run ``session`` on a connected client, reconnecting with backoff whenever the broker
    goes away, until ``session`` returns or ``stop`` is set while waiting (the result is ""),
    or a permanent failure (the result is its reason). ``on_status`` hears each reason for
    waiting, and None once connected.
    """
    stop = stop or asyncio.Event()
    attempt = 0
    while True:
        client = None
        try:
            client = await connect(settings, will=will)
            attempt = 0
            on_status(None)
            await session(client)
            await disconnect(client)
            return ""
        except SourceUnavailable as exc:
            failure = exc
        except (aiomqtt.MqttError, OSError) as exc:
            failure = unavailable(settings, exc)
        await disconnect(client)
        if failure.permanent:
            on_status(failure.reason)
            return failure.reason
        attempt += 1
        delay = min(maximum, initial * 2 ** (attempt - 1))
        on_status(f"{failure.reason}; retrying in {delay:.0f}s")
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return ""
        except TimeoutError:
            continue


class RateGate:
    """Lets at most ``rate`` events a second through (bursts up to ``burst``); counts the rest."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._tokens = self.burst
        self._last = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        """True when one more event may pass now."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.dropped += 1
        return False


@dataclass(frozen=True)
class Received:
    """One message as a subscriber sees it: topic, the first ``MAX_PAYLOAD`` + 1 bytes of its
    payload, retained flag, and its size as received."""

    topic: str
    payload: bytes
    retained: bool
    size: int


class MqttSubscriber:
    """Base of the sources that subscribe to topics and turn messages into events.

    ``open`` connects and subscribes (so subscriptions are restored on every reconnect, which
    the hub drives with backoff); ``events`` yields what ``convert`` makes of each message and
    raises SourceUnavailable when the broker goes away, so the panes say so. At most ``rate``
    messages a second are converted; the rest of a flood, and what the client's bounded queue
    refused, are dropped and reported as a degraded health with the count.
    """

    live = True
    topics: Sequence[str] = ()
    rate: float = 2000.0
    """Messages a second converted at most; a flood beyond is dropped and counted."""
    health_interval: float = 1.0
    """Seconds between two reports of the drop count, so the report is no flood itself."""

    def __init__(self, settings: MqttSettings, *, id: str, host: str = "") -> None:
        self.settings = settings
        self.id = id
        self.host = host
        self._client: aiomqtt.Client | None = None
        self._closed = asyncio.Event()
        self._gate = RateGate(self.rate, burst=self.rate)
        self._reported = 0
        self._report_at = 0.0

    @property
    def dropped(self) -> int:
        """Messages dropped so far in this connection: past the rate or a full queue."""
        queued = dropped_by(self._client) if self._client is not None else 0
        return self._gate.dropped + queued

    async def open(self) -> None:
        """Connect and subscribe to ``topics``."""
        self._closed.clear()
        self._gate = RateGate(self.rate, burst=self.rate)
        self._reported = 0
        client = await connect(self.settings)
        try:
            for topic in self.topics:
                await client.subscribe(topic, qos=0)
        except aiomqtt.MqttError as exc:
            await disconnect(client)
            raise unavailable(self.settings, exc) from None
        self._client = client

    async def close(self) -> None:
        """Disconnect; unblocks ``events``."""
        self._closed.set()
        client, self._client = self._client, None
        await disconnect(client)

    async def events(self) -> AsyncIterator[Event]:
        """The converted events until the source is closed or the broker goes away."""
        client = self._client
        if client is None:
            return
        try:
            async for message in client.messages:
                if self._gate.allow():
                    for event in self.convert(_received(message)):
                        yield event
                health = self._health()
                if health is not None:
                    yield health
        except aiomqtt.MqttError as exc:
            if self._closed.is_set():
                return  # close() disconnected us: the end, not a failure
            raise SourceUnavailable(
                f"{self.settings.url}: connection lost ({describe(exc)})"
            ) from None

    def convert(self, message: Received) -> Iterable[Event]:
        """The events one message means (none for a message to ignore); never raises on bad
        payloads: they become an event that says so."""
        raise NotImplementedError

    def _health(self) -> SourceHealth | None:
        """A report of newly dropped messages, at most every ``health_interval``."""
        dropped = self.dropped
        now = time.monotonic()
        if now < self._report_at:
            return None
        if dropped == self._reported:
            if dropped and now >= self._report_at + 10 * self.health_interval:
                # Quiet again for a while: the flood is over.
                self._reported = 0
                self._gate.dropped = 0
                self._report_at = now + self.health_interval
                return SourceHealth(ts=time.time(), host=self.host, source=self.id)
            return None
        self._reported = dropped
        self._report_at = now + self.health_interval
        return SourceHealth(
            ts=time.time(),
            host=self.host,
            source=self.id,
            degraded=f"flood: {dropped} messages dropped (over {self.rate:g}/s)",
        )


def _received(message: aiomqtt.Message) -> Received:
    payload = message.payload
    data = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
    return Received(
        topic=message.topic.value,
        payload=bytes(data[: MAX_PAYLOAD + 1]),
        retained=bool(message.retain),
        size=len(data),
    )


def decode_text(payload: bytes) -> tuple[str, bool]:
    """The payload as text and whether it was valid UTF-8 (invalid bytes shown as ``\\xNN``)."""
    try:
        return payload.decode("utf-8"), True
    except UnicodeDecodeError:
        return payload.decode("utf-8", errors="backslashreplace"), False


def topic_matches(pattern: str, topic: str) -> bool:
    """True when ``topic`` matches the MQTT subscription ``pattern`` (``+`` and ``#``)."""
    return aiomqtt.Topic(topic).matches(pattern)


def finite_time(value: object, default: float) -> float:
    """A timestamp from a payload (epoch seconds or milliseconds, or ISO 8601); ``default``
    when it is missing, not a time, or absurd."""
    stamp: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = float(value) / (1000.0 if abs(value) > 1e11 else 1.0)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            stamp = parsed.timestamp()
        except ValueError:
            stamp = None
    if stamp is None or not math.isfinite(stamp) or not 0 < stamp < 1e10:
        return default
    return stamp


# --- the agents' topic scheme (documented in opsconsole.agent) ---------------------------

FLEET_ROOT: Final = "opsconsole/v1"
"""Every agent publishes under ``opsconsole/v1/<host>/...`` (the scheme: ``opsconsole.agent``)."""

PRESENCE: Final = "presence"
"""The kind of the retained online/offline message (and last will) of each agent."""


def fleet_topic(host: str, kind: str, source: str = "") -> str:
    """``opsconsole/v1/<host>/<kind>[/<source>]``: the source id %-encoded into one level."""
    topic = f"{FLEET_ROOT}/{host}/{kind}"
    return f"{topic}/{quote(source, safe='')}" if source else topic


def split_fleet_topic(topic: str) -> tuple[str, str, str] | None:
    """``(host, kind, source)`` of a topic of the agents' scheme (source "" when the topic has
    none); None for any other topic."""
    root = FLEET_ROOT + "/"
    if not topic.startswith(root):
        return None
    parts = topic[len(root) :].split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return None
    return parts[0], parts[1], unquote(parts[2]) if len(parts) == 3 else ""
