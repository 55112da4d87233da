"""The raw topic view: the latest payload of each topic on the broker, for debugging.

Topics are sorted so that they read as a tree (levels shared with the row above are blanked);
the payload of the topic under the cursor is shown below, JSON pretty-printed. Bounded: at most
``MAX_TOPICS`` topics, the one updated longest ago going first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import ClassVar, Final, Unpack

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from opsconsole.sources.events import Event, MqttMessage
from opsconsole.sources.text import safe_text
from opsconsole.widgets.alerts import LinkPaneOptions, LinkTablePane
from opsconsole.widgets.format import count, duration, size
from opsconsole.widgets.row_table import Column, Row, RowTable

MAX_TOPICS: Final = 5000
DETAIL_LINES: Final = 200
"""Lines of a pretty-printed payload shown at most."""

COLUMNS: Final = (
    Column("topic", "TOPIC", 48),
    Column("size", "SIZE", 6, "right"),
    Column("count", "MSGS", 7, "right"),
    Column("age", "AGE", 7, "right"),
    Column("payload", "PAYLOAD", 200),
)


def pretty(payload: str) -> str:
    """``payload`` pretty-printed when it is JSON, as it is otherwise; at most DETAIL_LINES."""
    try:
        text = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = payload
    # Parsing turns JSON escapes (\u009b) back into control characters: make each line safe.
    lines = [safe_text(line) for line in text.splitlines()]
    if len(lines) > DETAIL_LINES:
        lines = [*lines[:DETAIL_LINES], f"… {len(lines) - DETAIL_LINES} more lines"]
    return "\n".join(lines)


def tree_labels(topics: Sequence[str]) -> list[str]:
    """Each topic with the levels it shares with the one before it blanked, so that the sorted
    list reads as a tree: ``a/b/c`` then ``a/b/d`` shows ``a/b/c`` then ``    d``."""
    labels, previous = [], [""]
    for topic in topics:
        levels = topic.split("/")
        shared = 0
        while shared < min(len(levels), len(previous)) - 1 and levels[shared] == previous[shared]:
            shared += 1
        indent = sum(len(level) + 1 for level in levels[:shared])
        labels.append(" " * indent + "/".join(levels[shared:]))
        previous = levels
    return labels


class TopicTree(LinkTablePane):
    """Every topic seen and its latest message; the selected one's payload shown in full.

    The table's keys move the cursor; enter shows the payload of the topic under it.
    """

    HELP_GROUP: ClassVar[str] = "Topics"
    link_prefixes = ("mqtt-raw:",)

    DEFAULT_CSS = """
    TopicTree {
        & > #payload {
            height: auto;
            max-height: 50%;
            padding: 0 1;
            border-top: solid $panel;
            background: $surface;
            color: $foreground;
        }
    }
    """

    def __init__(self, **options: Unpack[LinkPaneOptions]) -> None:
        """Create the pane; ``options`` as for ``LinkTablePane``."""
        super().__init__(COLUMNS, **options)
        self.topics: OrderedDict[str, tuple[MqttMessage, int]] = OrderedDict()
        """Latest message and message count per topic, least recently updated first."""
        self.messages = 0
        self._detail = Static(id="payload", markup=False)
        self._detail_topic: str | None = None

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield self._detail

    def reset(self) -> None:
        self.topics.clear()
        self.messages = 0
        self._stale = True

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, MqttMessage):
                self.messages += 1
                _, seen = self.topics.pop(event.topic, (event, 0))
                self.topics[event.topic] = (event, seen + 1)
                if len(self.topics) > MAX_TOPICS:
                    self.topics.popitem(last=False)
                changed = True
            elif self.collect_link(event):
                changed = True
        return changed

    def show(self) -> None:
        now = self.clock()
        names = sorted(self.topics)
        rows = []
        for name, label in zip(names, tree_labels(names), strict=True):
            message, seen = self.topics[name]
            rows.append(
                Row(
                    name,
                    (
                        label,
                        size(message.size),
                        count(seen),
                        duration(now - message.ts),
                        " ".join(message.payload[:400].split()),
                    ),
                )
            )
        self.table.set_rows(rows)
        text = f"{count(len(self.topics))} topics · {count(self.messages)} messages"
        if len(self.topics) >= MAX_TOPICS:
            text += f" · keeping the {count(MAX_TOPICS)} latest topics"
        self.set_status(text)
        if self._detail_topic is not None:
            self._show_detail(self._detail_topic)

    def _show_detail(self, topic: str) -> None:
        entry = self.topics.get(topic)
        if entry is None:
            self._detail.update("")
            return
        message = entry[0]
        head = f"{safe_text(topic)}  {size(message.size)}"
        head += " retained" if message.retained else ""
        head += " (truncated)" if message.truncated else ""
        body = Text(head + "\n", style="bold")
        body.append(pretty(message.payload))
        self._detail.update(body)

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        self._detail_topic = event.key
        self._show_detail(event.key)
