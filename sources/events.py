"""The event stream's vocabulary: small, frozen, typed, timestamped, serialisable records.

Every fact the console shows is one of these. Live adapters produce them, the hub fans them
out, a recorder writes them as JSON lines, and the replay source reads them back, so a pane
cannot tell live data from a recording.

Events are msgspec Structs tagged by ``kind``: encoding and decoding a whole stream is fast and
validating, so a hostile or damaged recording gives a clear error instead of a wrong screen.
A figure that this kernel or this platform does not provide is ``None`` (shown as n/a), never
zero.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of every event: when, on which host, from which source."""

    ts: float
    """Wall-clock time the fact was observed, seconds since the epoch (UTC)."""
    host: str
    """Host name the fact is about."""
    source: str
    """Id of the source that produced it, such as ``host`` or ``replay:/path``."""


# --- host metrics -------------------------------------------------------------------------


class DiskUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Usage of one mounted filesystem."""

    mount: str
    device: str
    fstype: str
    total: int
    used: int
    free: int
    percent: float


class NetRate(msgspec.Struct, frozen=True, kw_only=True):
    """Traffic of one network interface since the previous sample, per second."""

    name: str
    rx_bps: float
    tx_bps: float
    errors: int = 0
    """Receive and transmit errors since the previous sample (a count, not a rate)."""
    drops: int = 0
    """Packets dropped in and out since the previous sample."""
    in_total: bool = True
    """Counted in the host's network total (``carrier_interfaces``); a bridge, its ports and
    mirrors carry traffic that a NIC carries too."""


class CgroupLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The cgroup the console runs in, when it limits CPU or memory (v1 or v2)."""

    version: Literal[1, 2]
    path: str
    cpu_limit_cores: float | None = None
    """CPU quota as a number of cores (quota / period); None when unlimited."""
    cpu_usage_cores: float | None = None
    """CPU used by the cgroup since the previous sample, in cores."""
    throttled_periods: int | None = None
    """Periods throttled since the previous sample."""
    throttled_seconds: float | None = None
    """Time throttled since the previous sample, seconds."""
    memory_limit: int | None = None
    """Memory limit in bytes; None when unlimited."""
    memory_usage: int | None = None
    """Memory charged to the cgroup, bytes."""


class HostSample(Event, frozen=True, kw_only=True, tag="host.sample"):
    """One sample of the host's vital figures."""

    boot_time: float | None = None
    cpu_count: int | None = None
    cpu_percent: float | None = None
    """Total CPU busy percent across all cores since the previous sample."""
    per_core: tuple[float, ...] = ()
    load: tuple[float, float, float] | None = None
    mem_total: int | None = None
    mem_used: int | None = None
    mem_available: int | None = None
    mem_percent: float | None = None
    swap_total: int | None = None
    swap_used: int | None = None
    swap_percent: float | None = None
    disks: tuple[DiskUsage, ...] = ()
    disk_read_bps: float | None = None
    disk_write_bps: float | None = None
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None
    interfaces: tuple[NetRate, ...] = ()
    cgroup: CgroupLimits | None = None


class ProcessRow(msgspec.Struct, frozen=True, kw_only=True):
    """One process as the process table shows it."""

    pid: int
    ppid: int | None = None
    user: str
    name: str
    command: str
    """Arguments joined by spaces, control characters escaped; empty for kernel threads."""
    state: str
    """One-letter state as ps shows it (R, S, D, Z, T, I...); ``?`` when not readable."""
    cpu_percent: float
    """Percent of one core, as top shows it (can exceed 100 on several cores)."""
    rss: int
    mem_percent: float | None = None
    threads: int | None = None
    started: float | None = None


class ProcessTable(Event, frozen=True, kw_only=True, tag="host.processes"):
    """The busiest processes on the host, and counts over all of them."""

    rows: tuple[ProcessRow, ...]
    total: int
    running: int = 0
    vanished: int = 0
    """Processes that exited during the scan."""
    denied: int = 0
    """Processes whose details were not readable (shown with the fields that were)."""


# --- containers (issue 3; owned by sources/containers) --------------------------------------


class ContainerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One container as the container list shows it. Figures an engine does not give are None."""

    engine: str
    """Id of the engine source it came from, such as ``podman:/run/podman/podman.sock``."""
    runtime: Literal["podman", "docker"]
    """Which CLI the equivalent commands use."""
    id: str
    name: str
    image: str
    state: str
    """created, running, paused, restarting, exited, dead, removing, stopped, unknown."""
    status: str = ""
    """The engine's own one-line status, such as ``Exited (1) 3 minutes ago``."""
    health: str | None = None
    """starting, healthy or unhealthy; None without a healthcheck."""
    created: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    restarts: int | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    pod: str | None = None
    project: str | None = None
    """Compose project (``com.docker.compose.project`` or podman-compose's label)."""
    labels: dict[str, str] = {}
    ports: str = ""


class ContainerStats(msgspec.Struct, frozen=True, kw_only=True):
    """Resource use of one running container, as of one stats read."""

    id: str
    cpu_percent: float | None = None
    """Percent of one core, as ``docker stats`` shows it."""
    mem_usage: int | None = None
    mem_limit: int | None = None
    """None when unlimited (engines report the host's memory then)."""
    net_rx: int | None = None
    """Cumulative bytes; panes derive rates."""
    net_tx: int | None = None
    blk_read: int | None = None
    blk_write: int | None = None
    pids: int | None = None


class ContainerList(Event, frozen=True, kw_only=True, tag="container.list"):
    """Every container of one engine, as listed (a full snapshot: absent means removed)."""

    engine: str
    containers: tuple[ContainerInfo, ...]


class ContainerStatsBatch(Event, frozen=True, kw_only=True, tag="container.stats"):
    """The latest stats of some running containers of one engine (coalesced, not one per read)."""

    engine: str
    stats: tuple[ContainerStats, ...]


class ContainerChange(Event, frozen=True, kw_only=True, tag="container.change"):
    """A state change from an engine's event stream: start, die, oom, health_status, ..."""

    engine: str
    id: str
    name: str
    action: str
    exit_code: int | None = None
    health: str | None = None
    attributes: dict[str, str] = {}


class ContainerAction(Event, frozen=True, kw_only=True, tag="container.action"):
    """An action the engineer took from the console, with the CLI command that does the same."""

    engine: str
    id: str
    name: str
    action: Literal["start", "stop", "restart", "kill", "pause", "unpause"]
    command: str
    """The equivalent command line, such as ``podman restart web1``."""
    ok: bool
    error: str | None = None


# --- logs (issue 4) -----------------------------------------------------------------------


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a log, as read: text is decoded but not yet made safe for the terminal."""

    text: str
    ts: float | None = None
    """The line's own time when the source knows it (journald, engine timestamps)."""
    stream: Literal["stdout", "stderr"] | None = None


class LogLines(Event, frozen=True, kw_only=True, tag="log.lines"):
    """A batch of lines from one log stream, in order; ``dropped`` lines were lost before it."""

    stream: str
    """The log's id, such as ``file:/var/log/syslog`` or ``container:podman:web1``."""
    lines: tuple[LogLine, ...]
    dropped: int = 0


# --- alerts and MQTT (issue 7) ------------------------------------------------------------


class Alert(Event, frozen=True, kw_only=True, tag="alert"):
    """An alert from MQTT or from the console's own thresholds. ``host`` is the host it is about."""

    key: str
    """What makes two alerts the same one (de-duplication): origin and name or summary."""
    severity: Literal["critical", "warning", "info"]
    summary: str
    origin: str
    """Where it came from: an MQTT topic, or ``threshold:<metric>``."""
    resolved: bool = False
    labels: dict[str, str] = {}


class MqttMessage(Event, frozen=True, kw_only=True, tag="mqtt.message"):
    """A message seen on the broker, for the raw topic view (payload made printable, capped)."""

    topic: str
    payload: str
    size: int
    """Size of the payload as received, in bytes."""
    retained: bool = False
    truncated: bool = False


class HostPresence(Event, frozen=True, kw_only=True, tag="fleet.presence"):
    """A fleet host came online or went offline (its agent's last will)."""

    online: bool
    conflict: str | None = None
    """Why this host's stream is suspect, such as two agents publishing under one name."""


# --- the hub's own facts ----------------------------------------------------------------


class SourceState(enum.StrEnum):
    """Where a source is in its life, as the hub sees it."""

    STARTING = "starting"
    LIVE = "live"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"
    ENDED = "ended"


class SourceHealth(Event, frozen=True, kw_only=True, tag="source.health"):
    """A source telling the hub it works only in part (``reason``) or fully again (None)."""

    degraded: str | None = None


class SourceStatus(Event, frozen=True, kw_only=True, tag="source.status"):
    """The hub's view of one source, emitted whenever it changes."""

    state: SourceState
    reason: str | None = None
    retry_at: float | None = None
    """Wall-clock time of the next attempt, when unavailable."""
    attempts: int = 0
    """Consecutive failed attempts to open."""
    dropped: int = 0
    """Events this source produced that a full queue dropped."""
    live: bool = True
    """False for sources that replay a recording."""


# --- bundles and sosreports (issue 6) ---------------------------------------------------


class HostFacts(Event, frozen=True, kw_only=True, tag="host.facts"):
    """What a host is, as a report recorded it (a sosreport's uname, hostname, os-release)."""

    hostname: str
    kernel: str | None = None
    """The ``uname -a`` line."""
    os: str | None = None
    """PRETTY_NAME from os-release."""
    uptime: float | None = None
    """Seconds the host had been up when the report was taken."""


class SosCommand(msgspec.Struct, frozen=True, kw_only=True):
    """One command a sosreport ran, as its manifest recorded it."""

    plugin: str
    command: str
    filepath: str | None = None
    """Where its output is in the report; None when sos kept none."""
    return_code: int | None = None
    run_time: float | None = None
    truncated: bool = False
    timed_out: bool = False
    """sos's timeout hit: return code 124, or the plugin's timeout."""
    missing: bool = False
    """The manifest names an output file that the report does not have."""


class SosReportInfo(Event, frozen=True, kw_only=True, tag="sos.report"):
    """What sos itself recorded about a report, and the problems found reading it."""

    name: str
    version: str | None = None
    cmdline: str | None = None
    policy: str | None = None
    start: str | None = None
    """The manifest's start time as sos wrote it (the host's local time)."""
    end: str | None = None
    plugins: tuple[str, ...] = ()
    commands: tuple[SosCommand, ...] = ()
    problems: tuple[str, ...] = ()
    """Missing files, dangling links, refused members, unreadable outputs: one line each."""


# Every concrete event kind; extend as sources are added. The decoder accepts exactly these.
class ReplayRestart(Event, frozen=True, kw_only=True, tag="replay.restart"):
    """A replayed stream starting over from its beginning, to seek back: what it gave before
    is given again, so panes that keep history forget theirs (``ts`` is where it seeks to)."""


AnyEvent = (
    HostSample
    | ProcessTable
    | ContainerList
    | ContainerStatsBatch
    | ContainerChange
    | ContainerAction
    | LogLines
    | Alert
    | MqttMessage
    | HostPresence
    | HostFacts
    | SosReportInfo
    | ReplayRestart
    | SourceHealth
    | SourceStatus
)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


class EventDecodeError(ValueError):
    """A line of a recorded stream is not a valid event."""


def encode(event: Event) -> bytes:
    """One event as a compact JSON object (no trailing newline)."""
    return _encoder.encode(event)


def decode(line: bytes | str) -> AnyEvent:
    """Parse one JSON line into its event; raise EventDecodeError with the reason."""
    try:
        return _decoder.decode(line)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        raise EventDecodeError(str(exc)) from None
