"""Alerts from MQTT: topic patterns mapped to ``Alert`` events by a small mapping.

Headless (no textual). Out of the box it takes JSON or plain-text alerts from ``alerts/#`` and
the alerts the agents publish (``opsconsole/v1/<host>/alert``). A mapping says, for the topics
matching its pattern, which JSON fields hold the severity, the summary, the host, the time, the
alert's name and whether it is resolved; each is a list of candidates (the first present wins,
``a.b`` reaches into nested objects), so an Alertmanager-style payload and a flat one both work.

Anything else is accepted too: a plain-text payload is an alert whose summary is its first line
(``CRITICAL: disk full`` is critical). A payload that cannot be an alert (not UTF-8, too large,
JSON that is no object or has no summary, nested past reason) becomes an ``unparsed`` alert
that says why, keyed by topic, so a stream of garbage is one row with a repeat count, never a
crash.

A mapping in the configuration file (coordinator's wiring) reads like::

    [[mqtt.alerts]]
    topic = "monitoring/+/alerts"
    severity = ["labels.severity", "level"]
    summary = ["annotations.summary", "message"]
    host_level = 1          # monitoring/<host>/alerts
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from opsconsole.sources.events import Alert, EventDecodeError, decode
from opsconsole.sources.mqtt_link import (
    MqttSettings,
    MqttSubscriber,
    Received,
    decode_text,
    finite_time,
    fleet_topic,
    split_fleet_topic,
    topic_matches,
)
from opsconsole.sources.text import safe_text

Severity = Literal["critical", "warning", "info"]

ALERT_MAX_BYTES: Final = 64 * 1024
"""An alert payload larger than this is reported as unparsed, not read."""
SUMMARY_LIMIT: Final = 500
"""Characters of a summary kept."""
MAX_LABELS: Final = 16
UNKNOWN_HOST: Final = "unknown"

_SEVERITIES: Final[Mapping[str, Severity]] = {
    **dict.fromkeys(
        ("critical", "crit", "fatal", "emerg", "emergency", "alert", "error", "err", "page",
         "high", "p1", "sev1", "disaster"),
        "critical",
    ),
    **dict.fromkeys(("warning", "warn", "medium", "average", "p2", "p3", "sev2"), "warning"),
}  # fmt: skip
"""Words that name a severity, lower-cased; anything else (info, notice, low, ok) is info."""

_RESOLVED_WORDS: Final = frozenset({"resolved", "ok", "clear", "cleared", "closed", "recovered"})
_TEXT_LEVEL: Final = re.compile(r"\s*\[?([A-Za-z]+\d?)\]?\s*[:\-]")
"""A plain-text alert's leading level word: ``CRITICAL: ...``, ``[warn] - ...``."""


@dataclass(frozen=True)
class AlertMapping:
    """How the payloads on the topics matching ``topic`` become alerts."""

    topic: str = "alerts/#"
    """MQTT subscription pattern (``+`` one level, ``#`` the rest)."""
    severity: Sequence[str] = ("severity", "level", "priority", "labels.severity")
    summary: Sequence[str] = (
        "summary",
        "message",
        "msg",
        "text",
        "description",
        "title",
        "annotations.summary",
        "annotations.description",
    )
    host: Sequence[str] = ("host", "hostname", "instance", "labels.instance", "labels.host")
    time: Sequence[str] = ("ts", "time", "timestamp", "startsAt", "@timestamp")
    name: Sequence[str] = ("name", "alertname", "labels.alertname", "id")
    """What names the alert for de-duplication; without it the summary does."""
    resolved: Sequence[str] = ("resolved", "status")
    """True, or a word like ``resolved``/``ok``, marks the alert resolved."""
    host_level: int | None = None
    """Topic level (0-based) that holds the host when the payload does not."""
    default_severity: Severity = "warning"
    """The severity of an alert that names none (a plain-text line, say)."""


DEFAULT_MAPPINGS: Final = (AlertMapping(),)
AGENT_ALERTS: Final = fleet_topic("+", "alert") + "/#"
"""Where the agents publish their own (threshold) alerts."""


def severity_of(value: object, default: Severity) -> Severity:
    """A severity from a word (``crit``, ``Warning``) or a syslog number (0-2, 3-4, else)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float) and math.isfinite(value):
        return "critical" if value <= 2 else "warning" if value <= 4 else "info"
    if isinstance(value, str):
        word = value.strip().lower()
        return _SEVERITIES.get(word, default if not word else "info")
    return default


def _field(document: Mapping[str, object], names: Iterable[str]) -> object:
    """The value of the first of ``names`` present (``a.b`` for nested objects), else None."""
    for name in names:
        value: object = document
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None and value != "":
            return value
    return None


def _one_line(value: object, limit: int = SUMMARY_LIMIT) -> str:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return " ".join(text.split())[:limit]


def _is_resolved(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _RESOLVED_WORDS


def unparsed(message: Received, reason: str, *, host: str = UNKNOWN_HOST) -> Alert:
    """The alert that stands for a payload that could not be read: one row per topic."""
    preview = safe_text(message.payload[:120].decode("utf-8", errors="backslashreplace"))
    return Alert(
        ts=time.time(),
        host=host,
        source="",
        key=f"{message.topic}#unparsed",
        severity="info",
        summary=_one_line(f"unparsed payload ({reason}, {message.size} bytes): {preview}"),
        origin=message.topic,
        labels={"unparsed": reason},
    )


def parse_alert(mapping: AlertMapping, message: Received, *, now: float | None = None) -> Alert:
    """The alert ``message`` carries under ``mapping``; an ``unparsed`` alert when it cannot."""
    now = time.time() if now is None else now
    levels = message.topic.split("/")
    level = mapping.host_level
    topic_host = levels[level] if level is not None and 0 <= level < len(levels) else None
    host = topic_host or UNKNOWN_HOST
    if message.size > ALERT_MAX_BYTES:
        return unparsed(message, f"larger than {ALERT_MAX_BYTES // 1024} KiB", host=host)
    text, utf8 = decode_text(message.payload)
    if not utf8:
        return unparsed(message, "not UTF-8", host=host)
    stripped = text.strip()
    if not stripped:
        return unparsed(message, "empty", host=host)
    document: object = stripped
    if stripped[0] in "{[":
        try:
            document = msgspec.json.decode(stripped)
        except (msgspec.DecodeError, RecursionError):
            return unparsed(message, "invalid JSON", host=host)
    if isinstance(document, str):
        return _text_alert(mapping, message, document, host, now)
    if not isinstance(document, dict):
        return unparsed(message, f"JSON {type(document).__name__}, not an object", host=host)
    summary = _field(document, mapping.summary)
    if summary is None:
        return unparsed(message, "JSON object without a summary field", host=host)
    summary_text = _one_line(summary)
    name = _field(document, mapping.name)
    host_value = _field(document, mapping.host)
    host = _one_line(host_value, 253) if host_value is not None else host
    ts = min(finite_time(_field(document, mapping.time), now), now + 300)
    used = {n.split(".")[0] for n in (*mapping.summary, *mapping.name, *mapping.host)}
    labels = {
        str(key)[:64]: _one_line(value, 200)
        for key, value in list(document.items())[: MAX_LABELS * 4]
        if key not in used and isinstance(value, str | int | float | bool)
    }
    return Alert(
        ts=ts,
        host=host,
        source="",
        key=f"{message.topic}:{_one_line(name, 200) if name is not None else summary_text}",
        severity=severity_of(_field(document, mapping.severity), mapping.default_severity),
        summary=summary_text,
        origin=message.topic,
        resolved=_is_resolved(_field(document, mapping.resolved)),
        labels=dict(list(labels.items())[:MAX_LABELS]),
    )


def _text_alert(
    mapping: AlertMapping, message: Received, text: str, host: str, now: float
) -> Alert:
    line = _one_line(text.strip().splitlines()[0] if text.strip() else text)
    severity = mapping.default_severity
    resolved = False
    if match := _TEXT_LEVEL.match(line):
        word = match.group(1).lower()
        resolved = word in _RESOLVED_WORDS
        severity = severity_of(word, mapping.default_severity) if not resolved else "info"
    return Alert(
        ts=now,
        host=host,
        source="",
        key=f"{message.topic}:{line[:200]}",
        severity=severity,
        summary=line,
        origin=message.topic,
        resolved=resolved,
    )


def agent_alert(message: Received) -> Alert:
    """An alert an agent published (an encoded ``Alert`` event), keyed by its host."""
    parts = split_fleet_topic(message.topic)
    host = parts[0] if parts else UNKNOWN_HOST
    if message.size > ALERT_MAX_BYTES:
        return unparsed(message, f"larger than {ALERT_MAX_BYTES // 1024} KiB", host=host)
    try:
        event = decode(message.payload)
    except (EventDecodeError, RecursionError):
        return unparsed(message, "not an opsconsole alert event", host=host)
    if not isinstance(event, Alert):
        return unparsed(message, f"a {type(event).__name__} event, not an alert", host=host)
    return msgspec.structs.replace(event, host=host, key=f"{host}/{event.key}")


class AlertSource(MqttSubscriber):
    """Alerts from the broker: the topics of ``mappings`` and the agents' alert topics.

    Each message becomes one ``Alert`` (an ``unparsed`` one when it cannot be read). The first
    mapping whose pattern matches a topic applies.
    """

    def __init__(
        self,
        settings: MqttSettings,
        *,
        mappings: Sequence[AlertMapping] = DEFAULT_MAPPINGS,
        agent_alerts: bool = True,
        host: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(settings, id=id or f"mqtt-alerts:{settings.url}", host=host)
        self.mappings = tuple(mappings)
        self.agent_alerts = agent_alerts
        self.topics = tuple(m.topic for m in self.mappings) + (
            (AGENT_ALERTS,) if agent_alerts else ()
        )

    def convert(self, message: Received) -> Iterable[Alert]:
        """The alert ``message`` carries."""
        if self.agent_alerts and topic_matches(AGENT_ALERTS, message.topic):
            alert = agent_alert(message)
        else:
            mapping = next(
                (m for m in self.mappings if topic_matches(m.topic, message.topic)),
                self.mappings[0] if self.mappings else AlertMapping(),
            )
            alert = parse_alert(mapping, message)
        return (msgspec.structs.replace(alert, source=self.id),)
