"""One interface over container engines, and finding the engines on this host.

The podman adapter (libpod API through podman-py) and the docker adapter (Docker API through the
docker SDK, also against podman's Docker-compatible socket) both implement ``Engine``. Every method
blocks: callers run them in threads. Engine output is turned into the event vocabulary here
(``ContainerInfo``, ``ContainerStats``, ``LogLine``), so the source above knows no SDK.

Discovery needs no configuration: ``DOCKER_HOST``, ``CONTAINER_HOST``, the rootful docker and
podman sockets and the user's rootless podman socket, plus any engines the config lists.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, Literal, Protocol, TypeVar

import msgspec
import psutil

# Its settings live with the rest of the config; re-exported for the code that knows them here.
from opsconsole.config import ContainersConfig as ContainersConfig
from opsconsole.sources.events import ContainerInfo, ContainerStats, LogLine

T = TypeVar("T")
Runtime = Literal["podman", "docker"]
"""Which engine API (and which CLI, for the equivalent commands) an engine speaks."""
Action = Literal["start", "stop", "restart", "kill", "pause", "unpause"]
"""The state-changing actions the console offers."""
ACTIONS: Final[tuple[Action, ...]] = ("start", "stop", "restart", "kill", "pause", "unpause")

DOCKER_SOCKET: Final = "/var/run/docker.sock"
PODMAN_SOCKET: Final = "/run/podman/podman.sock"
CALL_TIMEOUT: Final = 30.0
"""Seconds a plain (not streaming) engine call may take before it counts as failed."""
STOP_TIMEOUT: Final = 10
"""Seconds ``stop`` and ``restart`` give a container before killing it (the CLIs' default)."""
MAX_ATTRIBUTES: Final = 64
"""Event attributes (labels, mostly) kept at most per event; a hostile image can carry many."""
MAX_VALUE: Final = 1024
"""Characters of an attribute or label value kept at most."""


class EngineError(Exception):
    """An engine call failed; ``str()`` says why in words fit for the UI."""


class NotFound(EngineError):
    """The container is gone (removed while we looked at it)."""


class NoSocket(EngineError):
    """The engine's socket does not exist: the engine is not installed or not started."""


# --- configuration and discovery ---------------------------------------------------------


# A msgspec Struct rather than a dataclass: the same fields, equality, hash and repr, but
# defined in C at import instead of by generating and exec-ing source (4-5M instructions each).
class EngineSpec(msgspec.Struct, frozen=True):
    """Where one engine listens and which API it speaks."""

    runtime: Runtime
    url: str
    """A ``unix://`` path or a ``tcp://`` address."""

    @property
    def source_id(self) -> str:
        """The id of its source: ``podman:/run/podman/podman.sock``, ``docker:tcp://h:2375``."""
        return f"{self.runtime}:{socket_path(self.url) or self.url}"


def spec_of(source_id: str) -> EngineSpec:
    """The engine a source id names (``podman:/run/podman/podman.sock``), as in a recording."""
    runtime, _, where = source_id.partition(":")
    url = f"unix://{where}" if where.startswith("/") else where
    return EngineSpec("docker" if runtime == "docker" else "podman", url)


def parse_engine(text: str) -> EngineSpec:
    """``podman=unix:///path`` or ``docker=URL`` as an EngineSpec; ValueError says why not."""
    runtime, sep, url = text.partition("=")
    runtime = runtime.strip().lower()
    if not sep or runtime not in ("podman", "docker") or not url.strip():
        raise ValueError(f"engine {text!r} is not podman=URL or docker=URL")
    url = url.strip()
    if url.startswith("/"):
        url = "unix://" + url
    if not url.startswith(("unix://", "tcp://", "http://")):
        raise ValueError(f"engine {text!r}: the URL must be unix://, tcp:// or http://")
    return EngineSpec("podman" if runtime == "podman" else "docker", url)


def socket_path(url: str) -> str | None:
    """The file of a ``unix://`` URL, else None."""
    return url.removeprefix("unix://") if url.startswith("unix://") else None


def discover(config: ContainersConfig, env: Mapping[str, str] | None = None) -> list[EngineSpec]:
    """The engines to watch: from the environment, the config and the sockets that exist.

    Engines named explicitly (environment, config) are always watched, so a wrong one says why;
    well-known sockets only when they exist. One socket reached by two paths (podman-docker links
    docker.sock to podman's) is one engine, with the runtime first found. With nothing found,
    the rootful podman and docker sockets are watched anyway so the pane says what is missing.
    """
    env = os.environ if env is None else env
    found: list[EngineSpec] = []
    if config.discover:
        if host := env.get("DOCKER_HOST"):
            found.append(EngineSpec("docker", host))
        if host := env.get("CONTAINER_HOST"):
            found.append(EngineSpec("podman", host))
    found.extend(parse_engine(text) for text in config.engines)
    if config.discover:
        wellknown: list[EngineSpec] = [
            EngineSpec("podman", "unix://" + PODMAN_SOCKET),
            EngineSpec("docker", "unix://" + DOCKER_SOCKET),
        ]
        if runtime_dir := env.get("XDG_RUNTIME_DIR"):
            wellknown.append(EngineSpec("podman", f"unix://{runtime_dir}/podman/podman.sock"))
        found.extend(spec for spec in wellknown if Path(socket_path(spec.url) or "").exists())
        if not found:
            found.extend(wellknown[:2])
    unique: dict[str, EngineSpec] = {}
    for spec in found:
        path = socket_path(spec.url)
        key = os.path.realpath(path) if path else spec.url
        unique.setdefault(key, spec)
    return list(unique.values())


# --- the equivalent command line ---------------------------------------------------------


def cli_command(runtime: Runtime, action: Action, name: str, url: str | None = None) -> str:
    """The command an engineer would type for ``action``: ``podman restart web1``.

    An engine that is not the CLI's default gets its address (``--url`` / ``-H``), so the
    command does the same thing when pasted.
    """
    words: list[str] = [runtime]
    default = PODMAN_SOCKET if runtime == "podman" else DOCKER_SOCKET
    if url is not None and socket_path(url) != default:
        words += ["--url" if runtime == "podman" else "-H", url]
    words += [action, name]
    return shlex.join(words)


# --- errors in words ---------------------------------------------------------------------


def describe_error(exc: BaseException, url: str) -> str:
    """Why a call to the engine at ``url`` failed, in a few words (no traceback, no repr soup)."""
    where = socket_path(url) or url
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno is not None:
            if cause.errno == errno.ENOENT:
                return f"no socket at {where}"
            if cause.errno in (errno.EACCES, errno.EPERM):
                return f"permission denied on {where}"
            if cause.errno == errno.ECONNREFUSED:
                return f"connection refused at {where} (engine not running?)"
            return f"{os.strerror(cause.errno).lower()} ({where})"
    text = str(exc).strip() or type(exc).__name__
    return f"{text[:200]} ({where})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and exceptions tucked in their args (urllib3 does)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [e for e in (item.__cause__, item.__context__) if e is not None]
        todo += [a for a in item.args if isinstance(a, BaseException)]
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


# --- streams -----------------------------------------------------------------------------


class HttpStream(Protocol):
    """What a streaming ``requests.Response`` offers (kept structural: the SDKs wrap it)."""

    raw: Any

    def iter_lines(self, chunk_size: int = ...) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Stream(Generic[T]):
    """A blocking iterator over an engine stream that another thread can end at once.

    ``abort`` shuts the socket down, which wakes a reader blocked on it (closing alone does not).
    """

    def __init__(self, response: HttpStream, items: Callable[[HttpStream], Iterator[T]]) -> None:
        self._response = response
        self._items = items
        self._aborted = threading.Event()

    @property
    def aborted(self) -> bool:
        """True once ``abort`` was called: an error after it is the abort, not the engine."""
        return self._aborted.is_set()

    def __iter__(self) -> Iterator[T]:
        try:
            yield from self._items(self._response)
        finally:
            self._response.close()

    def abort(self) -> None:
        """End the stream from any thread; the reader's loop finishes (or raises) promptly."""
        self._aborted.set()
        connection = getattr(self._response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._response.close()


def json_lines(response: HttpStream) -> Iterator[bytes]:
    """The non-empty lines of a stream of JSON documents."""
    for line in response.iter_lines():
        if line.strip():
            yield line


FrameStream = Literal["stdout", "stderr"]


def frames(response: HttpStream) -> Iterator[tuple[FrameStream | None, bytes]]:
    """Chunks of a log stream with the stream each came from (None for a tty's merged output).

    The Docker API multiplexes unless the container has a tty: an 8-byte header (stream, 0, 0,
    0, big-endian size) before each chunk. libpod multiplexes even then, so the stream itself
    says which it is. Reads take what has arrived (``read1``), so a quiet log is never held
    back waiting for a full buffer.
    """
    read = response.raw.read1
    buffer = bytearray()
    multiplexed: bool | None = None
    while chunk := read(65536):
        buffer += chunk
        if multiplexed is None:
            if len(buffer) < 4:
                continue
            multiplexed = buffer[0] in (0, 1, 2) and buffer[1:4] == b"\0\0\0"
        if not multiplexed:
            yield None, bytes(buffer)
            buffer.clear()
            continue
        start = 0
        while len(buffer) - start >= 8:
            size = int.from_bytes(buffer[start + 4 : start + 8], "big")
            if len(buffer) - start - 8 < size:
                break
            kind = buffer[start]
            yield ("stderr" if kind == 2 else "stdout"), bytes(buffer[start + 8 : start + 8 + size])
            start += 8 + size
        del buffer[:start]
    if buffer and not multiplexed:
        yield None, bytes(buffer)


class LineSplitter:
    """Turns chunks of each stream into whole lines, cutting lines longer than ``limit`` bytes."""

    # A plain class, not a dataclass (cheaper to define at import): nothing compares or prints
    # splitters.
    __slots__ = ("_partial", "limit", "timestamps")

    def __init__(self, timestamps: bool, limit: int = 64 * 1024) -> None:
        self.timestamps = timestamps
        self.limit = limit
        self._partial: dict[FrameStream | None, bytes] = {}

    def feed(self, stream: FrameStream | None, chunk: bytes) -> list[LogLine]:
        """The complete lines that ``chunk`` ends."""
        if self.timestamps and stream in self._partial:
            # Engines split long lines into entries with a time each: a continuation's time
            # is not part of the line.
            stamp, sep, rest = chunk.partition(b" ")
            if sep and parse_time(stamp.decode("ascii", "replace")) is not None:
                chunk = rest
        data = self._partial.pop(stream, b"") + chunk
        *complete, rest = data.split(b"\n")
        while len(rest) > self.limit:
            complete.append(rest[: self.limit])
            rest = rest[self.limit :]
        if rest:
            self._partial[stream] = rest
        return [self._line(stream, raw) for raw in complete]

    def flush(self) -> list[LogLine]:
        """The unterminated last line of each stream, at the end of the stream."""
        lines = [self._line(stream, raw) for stream, raw in self._partial.items()]
        self._partial.clear()
        return lines

    def _line(self, stream: FrameStream | None, raw: bytes) -> LogLine:
        ts: float | None = None
        if self.timestamps:
            stamp, sep, rest = raw.partition(b" ")
            ts = parse_time(stamp.decode("ascii", "replace"))
            if sep and ts is not None:
                raw = rest
        # Invalid UTF-8 stays visible as \xNN, and the text stays encodable for recordings.
        text = raw.removesuffix(b"\r").decode("utf-8", "backslashreplace")
        return LogLine(text=text, ts=ts, stream=stream)


# --- shapes shared by both APIs ----------------------------------------------------------


def parse_time(value: object) -> float | None:
    """An engine time (RFC 3339 with nanoseconds, or epoch seconds) as epoch seconds.

    Go's zero time (``0001-01-01T00:00:00Z``, or its epoch -62135596800) means never: None.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    text = value.replace("Z", "+00:00")
    head, dot, tail = text.partition(".")
    if dot:  # Python parses at most microseconds: drop the nanoseconds
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def project_of(labels: Mapping[str, str]) -> str | None:
    """The compose project of a container, from docker compose's or podman-compose's label."""
    return labels.get("com.docker.compose.project") or labels.get("io.podman.compose.project")


def clean_labels(labels: object) -> dict[str, str]:
    """Labels as a bounded dict of strings (engines send null, and images can send thousands)."""
    if not isinstance(labels, dict):
        return {}
    items = list(labels.items())[:MAX_ATTRIBUTES]
    return {str(k)[:MAX_VALUE]: str(v)[:MAX_VALUE] for k, v in items}


def enrich(info: ContainerInfo, inspect: Mapping[str, Any]) -> ContainerInfo:
    """``info`` from a list call completed with what only inspect tells (same in both APIs)."""
    state = inspect.get("State")
    if not isinstance(state, dict):
        return info
    health = state.get("Health") or state.get("Healthcheck")
    status = health.get("Status") if isinstance(health, dict) else None
    restarts = inspect.get("RestartCount")
    exit_code = state.get("ExitCode")
    return msgspec.structs.replace(
        info,
        health=status or None,
        restarts=restarts if isinstance(restarts, int) else info.restarts,
        # A running container's ExitCode is its previous run's (or 0): not what it exited with.
        exit_code=exit_code
        if isinstance(exit_code, int) and info.state not in ("running", "paused")
        else info.exit_code,
        oom_killed=bool(state.get("OOMKilled")),
        started_at=parse_time(state.get("StartedAt")) or info.started_at,
        finished_at=parse_time(state.get("FinishedAt")) or info.finished_at,
    )


class RawEvent(msgspec.Struct, frozen=True):
    """A container event in the shape both APIs share."""

    Action: str = ""
    Type: str = ""
    HealthStatus: str | None = None
    timeNano: int | None = None
    Actor: dict[str, Any] = {}
    id: str = ""


_event_decoder = msgspec.json.Decoder(RawEvent)
_ACTION_NAMES: Final = {"died": "die"}
"""libpod says ``died`` where the Docker API says ``die``: one name on screen."""


class EngineEvent(msgspec.Struct, frozen=True):  # not a dataclass: see EngineSpec
    """A container event from an engine, normalised."""

    id: str
    name: str
    action: str
    exit_code: int | None
    health: str | None
    attributes: dict[str, str]
    ts: float | None


def parse_event(line: bytes) -> EngineEvent | None:
    """A container event from one line of the events stream; None for other types and junk."""
    try:
        raw = _event_decoder.decode(line)
    except msgspec.DecodeError:
        return None
    if raw.Type != "container":
        return None
    attributes = clean_labels(raw.Actor.get("Attributes"))
    action = raw.Action.partition(":")[0]  # docker: "exec_start: sh -c ..."
    action = _ACTION_NAMES.get(action, action)
    code = attributes.get("exitCode") or attributes.get("containerExitCode")
    exit_code = int(code) if action == "die" and code and code.lstrip("-").isdigit() else None
    return EngineEvent(
        id=str(raw.Actor.get("ID") or raw.id),
        name=attributes.get("name", ""),
        action=action,
        exit_code=exit_code,
        health=raw.HealthStatus if action == "health_status" else None,
        attributes=attributes,
        ts=raw.timeNano / 1e9 if raw.timeNano else None,
    )


class TopResult(msgspec.Struct, frozen=True):  # not a dataclass: see EngineSpec
    """The processes of a container, as ``podman top`` shows them."""

    titles: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def top_result(body: object) -> TopResult:
    """The body of a top call (same in both APIs) as a TopResult."""
    if not isinstance(body, dict):
        return TopResult((), ())
    titles = tuple(str(t) for t in body.get("Titles") or ())
    rows = tuple(tuple(str(c) for c in row) for row in body.get("Processes") or ())
    return TopResult(titles, rows)


class LogQuery(msgspec.Struct, frozen=True):  # not a dataclass: see EngineSpec
    """What part of a container's log to read."""

    follow: bool = True
    tail: int | None = 500
    """Lines of backlog before following; None for all of it."""
    since: float | None = None
    """Epoch seconds: only lines from then on."""
    timestamps: bool = True
    stdout: bool = True
    stderr: bool = True

    def params(self) -> dict[str, Any]:
        """The query parameters both APIs take."""
        params: dict[str, Any] = {
            "follow": self.follow,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timestamps": self.timestamps,
            "tail": "all" if self.tail is None else str(self.tail),
        }
        if self.since is not None:
            params["since"] = str(int(self.since))
        return params


# --- the interface -----------------------------------------------------------------------


class Engine(Protocol):
    """One container engine. Every method blocks; raise EngineError (NotFound) on failure."""

    spec: EngineSpec

    def connect(self) -> None:
        """Reach the engine (and check it answers); EngineError says why not."""
        ...

    def list_containers(self) -> list[ContainerInfo]:
        """Every container, from the cheap list call (health and restarts may be missing)."""
        ...

    def inspect(self, id: str) -> dict[str, Any]:
        """The engine's full inspect document of one container."""
        ...

    def events(self) -> Stream[EngineEvent]:
        """The engine's container events from now on, until aborted or the engine goes."""
        ...

    def stats(self, id: str) -> Stream[ContainerStats]:
        """Stats of one running container about once a second; ends when it stops."""
        ...

    def logs(self, id: str, query: LogQuery) -> Stream[tuple[FrameStream | None, bytes]]:
        """Chunks of a container's log with their stream."""
        ...

    def top(self, id: str) -> TopResult:
        """The processes of a running container."""
        ...

    def act(self, id: str, action: Action) -> None:
        """Start, stop, restart, kill, pause or unpause a container."""
        ...

    def close(self) -> None:
        """Release connections; idempotent."""
        ...


def stats_from_docker(id: str, doc: Mapping[str, Any], host_memory: int | None) -> ContainerStats:
    """A ContainerStats from one Docker API stats document, as ``docker stats`` computes it."""
    cpu, pre = doc.get("cpu_stats") or {}, doc.get("precpu_stats") or {}
    cpu_delta = _num(cpu, "cpu_usage", "total_usage") - _num(pre, "cpu_usage", "total_usage")
    system_delta = _num(cpu, "system_cpu_usage") - _num(pre, "system_cpu_usage")
    cpus = cpu.get("online_cpus") or len(_get(cpu, "cpu_usage", "percpu_usage") or ()) or 1
    cpu_percent = cpu_delta / system_delta * cpus * 100.0 if system_delta > 0 else None
    memory = doc.get("memory_stats") or {}
    usage = memory.get("usage")
    if isinstance(usage, int):
        # As docker stats: page cache the kernel can drop is not the container's use.
        inner = memory.get("stats") or {}
        usage -= inner.get("inactive_file") or inner.get("total_inactive_file") or 0
    networks = doc.get("networks") or {}
    rx = sum(n.get("rx_bytes", 0) for n in networks.values()) if networks else None
    tx = sum(n.get("tx_bytes", 0) for n in networks.values()) if networks else None
    blk = _get(doc, "blkio_stats", "io_service_bytes_recursive") or []
    read = sum(e.get("value", 0) for e in blk if str(e.get("op", "")).lower() == "read")
    write = sum(e.get("value", 0) for e in blk if str(e.get("op", "")).lower() == "write")
    return ContainerStats(
        id=id,
        cpu_percent=cpu_percent,
        mem_usage=usage if isinstance(usage, int) else None,
        mem_limit=real_limit(memory.get("limit"), host_memory),
        net_rx=rx,
        net_tx=tx,
        blk_read=read,
        blk_write=write,
        pids=_get(doc, "pids_stats", "current"),
    )


def real_limit(limit: object, host_memory: int | None) -> int | None:
    """A memory limit, or None when it is no limit (the host's memory, or more)."""
    if not isinstance(limit, int) or limit <= 0:
        return None
    if host_memory is not None and limit >= host_memory:
        return None
    return limit


def _get(doc: Mapping[str, Any], *keys: str) -> Any:
    value: Any = doc
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _num(doc: Mapping[str, Any], *keys: str) -> float:
    value = _get(doc, *keys)
    return float(value) if isinstance(value, int | float) else 0.0


def first_name(names: Sequence[str] | None, fallback: str) -> str:
    """A container's name from a list call's ``Names`` (the Docker API prefixes a slash)."""
    return names[0].lstrip("/") if names else fallback[:12]


class Response(HttpStream, Protocol):
    """What the adapters need of a ``requests.Response``."""

    status_code: int

    def json(self) -> Any: ...


class RestEngine(ABC):
    """What the libpod and Docker APIs share: the same paths for all but listing and stats.

    Subclasses open their SDK's client and send requests through it; this class turns answers
    into events and failures into EngineError with a reason fit for the UI.
    """

    runtime: ClassVar[Runtime]
    _stop_timeout_param: ClassVar[str]
    """The query parameter of stop's grace period: libpod says ``timeout``, Docker ``t``."""

    def __init__(self, spec: EngineSpec, *, max_streams: int = 256) -> None:
        self.spec = spec
        self.max_streams = max_streams
        """Connections kept per engine: one per stats stream, plus events and calls."""
        self._host_memory = psutil.virtual_memory().total

    # -- what subclasses provide ------------------------------------------------------------

    @abstractmethod
    def _open_client(self) -> None:
        """Create the SDK client (blocking; it may already talk to the engine)."""

    @abstractmethod
    def _request(
        self, method: str, path: str, params: Mapping[str, Any] | None, stream: bool
    ) -> Response:
        """Send one request; a stream gets no read timeout, a plain call CALL_TIMEOUT."""

    @abstractmethod
    def _close_client(self) -> None:
        """Release the SDK client."""

    @abstractmethod
    def _info(self, item: Mapping[str, Any]) -> ContainerInfo:
        """One item of the list call as a ContainerInfo."""

    @abstractmethod
    def _stats_request(self, id: str) -> tuple[str, dict[str, Any]]:
        """Path and parameters of one container's stats stream."""

    @abstractmethod
    def _stats(self, id: str, line: bytes) -> ContainerStats | None:
        """One line of the stats stream; None when it says the container is not running."""

    # -- the Engine interface ---------------------------------------------------------------

    def connect(self) -> None:
        """Create the client and ping the engine."""
        where = socket_path(self.spec.url)
        if where is not None and not Path(where).exists():
            # Said before the SDK is loaded: on a host without this engine, retrying costs a
            # stat, not the SDK's memory (10 MB) and its import.
            raise NoSocket(f"no socket at {where}")
        try:
            self._open_client()
        except Exception as exc:
            raise EngineError(describe_error(exc, self.spec.url)) from None
        self._call("GET", "/_ping")

    def list_containers(self) -> list[ContainerInfo]:
        """Every container from the list call (cheap: no inspect, no size)."""
        body = _json(self._call("GET", "/containers/json", {"all": "true"}))
        return [self._info(item) for item in body or () if isinstance(item, dict)]

    def inspect(self, id: str) -> dict[str, Any]:
        """The inspect document of one container."""
        body = _json(self._call("GET", f"/containers/{id}/json"))
        return body if isinstance(body, dict) else {}

    def events(self) -> Stream[EngineEvent]:
        """Container events from now on."""
        params = {"stream": "true", "filters": '{"type":["container"]}'}
        response = self._call("GET", "/events", params, stream=True)

        def items(response: HttpStream) -> Iterator[EngineEvent]:
            for line in json_lines(response):
                if (event := parse_event(line)) is not None:
                    yield event

        return Stream(response, items)

    def stats(self, id: str) -> Stream[ContainerStats]:
        """One container's stats, about once a second, until it stops."""
        path, params = self._stats_request(id)
        response = self._call("GET", path, params, stream=True)

        def items(response: HttpStream) -> Iterator[ContainerStats]:
            for line in json_lines(response):
                stats = self._stats(id, line)
                if stats is None:
                    return
                yield stats

        return Stream(response, items)

    def logs(self, id: str, query: LogQuery) -> Stream[tuple[FrameStream | None, bytes]]:
        """Chunks of one container's log."""
        response = self._call("GET", f"/containers/{id}/logs", query.params(), stream=True)
        return Stream(response, frames)

    def top(self, id: str) -> TopResult:
        """The processes of one running container."""
        body = _json(self._call("GET", f"/containers/{id}/top"))
        if not body:
            # podman 4.3's Docker-compatible API answers top with an empty body.
            raise EngineError("the engine sent no process list (its libpod API does)")
        return top_result(body)

    def act(self, id: str, action: Action) -> None:
        """Run ``action`` on one container (a container already in that state is no error)."""
        params: dict[str, Any] = {}
        if action in ("stop", "restart"):
            params[self._stop_timeout_param if action == "stop" else "t"] = str(STOP_TIMEOUT)
        self._call("POST", f"/containers/{id}/{action}", params)

    def close(self) -> None:
        """Release the client's connections."""
        with contextlib.suppress(Exception):
            self._close_client()

    # -- helpers ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        stream: bool = False,
    ) -> Response:
        """One request, its failure as EngineError (NotFound for a missing container)."""
        try:
            response = self._request(method, path, params, stream)
        except Exception as exc:
            raise EngineError(describe_error(exc, self.spec.url)) from None
        if response.status_code < 400:
            return response
        try:
            body = response.json()
            message = str(body.get("message") or body.get("cause") or body)
        except Exception:
            message = f"HTTP {response.status_code}"
        finally:
            response.close()
        if response.status_code == 404:
            raise NotFound(message[:300])
        raise EngineError(message[:300])

    def _base_info(self, item: Mapping[str, Any], **fields: Any) -> ContainerInfo:
        """The fields both list calls give the same way; ``fields`` the ones they differ in."""
        id = str(item.get("Id", ""))
        labels = clean_labels(item.get("Labels"))
        return ContainerInfo(
            engine=self.spec.source_id,
            runtime=self.runtime,
            id=id,
            name=first_name(item.get("Names"), id),
            image=str(item.get("Image", "")),
            state=str(item.get("State") or "unknown").lower(),
            created=parse_time(item.get("Created")),
            project=project_of(labels),
            labels=labels,
            **fields,
        )


def _json(response: Response) -> Any:
    """The JSON body of an answer; EngineError when it is not JSON (None when it is empty)."""
    try:
        return response.json()
    except ValueError:
        if not getattr(response, "content", b"").strip():
            return None
        raise EngineError("the engine sent an answer that is not JSON") from None
