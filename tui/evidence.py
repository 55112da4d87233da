"""Evidence as the panes hand it over: the draft a pin makes, and the protocols a pane implements.

Headless (no textual). The app has one ``p`` binding: it walks from the focused widget up to the
first one that is ``Pinnable`` and asks it for ``pin_selection()``; the investigation stores the
draft. A pane that can also show an item again implements ``Jumpable``: evidence keeps the
pane's ``locator`` and the evidence list asks the pane to ``jump_to`` it.

The ``draft_from_*`` helpers give every pane the same shape of evidence for the same kind of
thing, so the report reads the same whoever pinned it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

import msgspec

from opsconsole.sources.events import Alert, ContainerInfo, HostSample, LogLine, ProcessRow
from opsconsole.sources.text import safe_text

MAX_CONTENT: Final = 64 * 1024
"""Most characters of content one piece of evidence keeps (a pinned range is cut there)."""
MAX_TITLE: Final = 200


# A msgspec Struct rather than a dataclass: the same fields, equality and repr, but defined in
# C at import instead of by generating and exec-ing source (4-5M instructions a class).
class EvidenceDraft(msgspec.Struct, frozen=True):
    """What a pane pins: the fact, where it came from, and how to find it again.

    ``locator`` holds plain strings: ``pane`` (the id of the widget that pinned it) and whatever
    that pane needs to show the item again (a stream and line number, a pid, a container id).
    """

    kind: str
    """log, process, metric, container, alert (or a pane's own kind)."""
    source: str
    host: str
    ts: float
    title: str
    content: str
    locator: Mapping[str, str] = {}  # msgspec gives each draft its own empty dict

    def __post_init__(self) -> None:
        # Bounded and single-line where it must be, whoever built the draft.
        msgspec.structs.force_setattr(self, "title", _one_line(self.title)[:MAX_TITLE])
        msgspec.structs.force_setattr(self, "content", _cap(self.content))


@runtime_checkable
class Pinnable(Protocol):
    """A pane whose selection can be pinned as evidence with the app's ``p`` key."""

    def pin_selection(self) -> EvidenceDraft | None:
        """The selected item as evidence, or None when nothing is selected."""
        ...


@runtime_checkable
class Jumpable(Protocol):
    """A pane that can show again an item it pinned."""

    def jump_to(self, locator: Mapping[str, str]) -> bool:
        """Select the item ``locator`` names; False when it is no longer there."""
        ...


def _one_line(text: str) -> str:
    return safe_text(" ".join(text.split()))


def _cap(text: str) -> str:
    if len(text) <= MAX_CONTENT:
        return text
    return text[:MAX_CONTENT] + f"\n… ({len(text) - MAX_CONTENT} more characters not kept)"


def draft_from_alert(alert: Alert, *, pane: str = "alerts") -> EvidenceDraft:
    """An alert as evidence."""
    labels = "".join(f"\n{k}: {v}" for k, v in sorted(alert.labels.items()))
    state = "resolved" if alert.resolved else alert.severity
    return EvidenceDraft(
        kind="alert",
        source=alert.origin,
        host=alert.host,
        ts=alert.ts,
        title=f"{state}: {alert.summary}",
        content=f"{alert.severity} {alert.summary}{labels}",
        locator={"pane": pane, "key": alert.key},
    )


def draft_from_process(
    row: ProcessRow, *, host: str, ts: float, source: str = "host", pane: str = "processes"
) -> EvidenceDraft:
    """A process row as evidence."""
    content = (
        f"pid {row.pid} user {row.user} state {row.state} cpu {row.cpu_percent:.1f}%"
        f" rss {row.rss} threads {row.threads if row.threads is not None else 'n/a'}\n"
        f"{row.command or row.name}"
    )
    return EvidenceDraft(
        kind="process",
        source=source,
        host=host,
        ts=ts,
        title=f"process {row.pid} {row.name}",
        content=content,
        locator={"pane": pane, "pid": str(row.pid)},
    )


def draft_from_log_lines(
    stream: str,
    lines: Sequence[LogLine],
    *,
    host: str,
    ts: float,
    first_line: int,
    pane: str = "logs",
) -> EvidenceDraft:
    """A log line or a range of lines as evidence; ``first_line`` is the first one's number."""
    count = len(lines)
    last = first_line + count - 1
    where = f"line {first_line}" if count == 1 else f"lines {first_line}-{last}"
    first = lines[0].text if lines else ""
    return EvidenceDraft(
        kind="log",
        source=stream,
        host=host,
        ts=next((line.ts for line in lines if line.ts is not None), ts),
        title=f"{stream} {where}: {first}",
        content="\n".join(line.text for line in lines),
        locator={"pane": pane, "stream": stream, "line": str(first_line), "count": str(count)},
    )


def draft_from_container(
    info: ContainerInfo,
    *,
    host: str,
    ts: float,
    inspect: Mapping[str, object] | None = None,
    pane: str = "containers",
) -> EvidenceDraft:
    """A container's state (and its inspect document when given) as evidence."""
    state = f"{info.state}" + (f" ({info.health})" if info.health else "")
    content = (
        f"{info.runtime} container {info.name} ({info.id[:12]}) image {info.image}\n"
        f"state {state} status {info.status!r} restarts {info.restarts} exit {info.exit_code}"
        f" oom_killed {info.oom_killed}"
    )
    if inspect is not None:
        content += "\n" + json.dumps(inspect, indent=2, sort_keys=True, default=str)
    return EvidenceDraft(
        kind="container",
        source=info.engine,
        host=host,
        ts=ts,
        title=f"container {info.name} {state}",
        content=content,
        locator={"pane": pane, "engine": info.engine, "id": info.id},
    )


def draft_from_host_sample(sample: HostSample, *, pane: str = "host") -> EvidenceDraft:
    """A snapshot of the host's figures as evidence."""

    def figure(value: float | None, unit: str = "%") -> str:
        return "n/a" if value is None else f"{value:.1f}{unit}"

    load = " ".join(f"{x:.2f}" for x in sample.load) if sample.load else "n/a"
    disks = "".join(f"\ndisk {d.mount} {d.percent:.1f}% used" for d in sample.disks)
    content = (
        f"cpu {figure(sample.cpu_percent)} mem {figure(sample.mem_percent)}"
        f" swap {figure(sample.swap_percent)} load {load}{disks}"
    )
    return EvidenceDraft(
        kind="metric",
        source=sample.source,
        host=sample.host,
        ts=sample.ts,
        title=f"host {sample.host}: cpu {figure(sample.cpu_percent)}"
        f" mem {figure(sample.mem_percent)}",
        content=content,
        locator={"pane": pane, "ts": repr(sample.ts)},
    )
