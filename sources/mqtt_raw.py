"""The raw view of the broker: every message on the subscribed topics as an ``MqttMessage``.

Headless (no textual). For debugging what the broker carries: the payload is decoded (bytes
that are not UTF-8 shown as ``\\xNN``), made printable with ``safe_text`` and capped at
``PAYLOAD_LIMIT`` bytes (``truncated`` says so; ``size`` is the size as received). A flood is
cut to ``rate`` messages a second, the rest counted as dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Final

from opsconsole.sources.events import MqttMessage
from opsconsole.sources.mqtt_link import MqttSettings, MqttSubscriber, Received, decode_text
from opsconsole.sources.text import safe_text

PAYLOAD_LIMIT: Final = 16 * 1024
"""Payload bytes kept per message for the view."""


def raw_message(message: Received, *, host: str, source: str) -> MqttMessage:
    """The view's event for one message: printable, capped payload."""
    text, _ = decode_text(message.payload[:PAYLOAD_LIMIT])
    return MqttMessage(
        ts=time.time(),
        host=host,
        source=source,
        topic=safe_text(message.topic),
        payload=safe_text(text),
        size=message.size,
        retained=message.retained,
        truncated=message.size > PAYLOAD_LIMIT,
    )


class RawSource(MqttSubscriber):
    """Every message on ``topics`` (default: all, ``#``) for the topic tree."""

    rate = 500.0

    def __init__(
        self,
        settings: MqttSettings,
        *,
        topics: Sequence[str] = ("#",),
        host: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(settings, id=id or f"mqtt-raw:{settings.url}", host=host)
        self.topics = tuple(topics)

    def convert(self, message: Received) -> Iterable[MqttMessage]:
        """One ``MqttMessage`` per message."""
        return (raw_message(message, host=self.host, source=self.id),)
