"""Container sources (one per engine) and the control facade the container panes call.

A ``ContainerSource`` follows one engine: a ``ContainerList`` snapshot when the set of containers
or what the list shows changes, a ``ContainerChange`` for each event of the engine's event
stream (seen within a second), and ``ContainerStatsBatch`` once a second from stats streams that
run, a thread each, for the running containers only and stop when the container does. Listing
uses the cheap list call; inspects (for health, restarts, OOM) run only for containers that are
new or changed, a few at a time.

``ContainerControl`` is what widgets call: inspect, top, logs and the actions. Every SDK call
runs in a thread. Actions are refused in read-only mode, and each one taken is also emitted into
its engine's event stream as a ``ContainerAction`` carrying the equivalent command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.engine import (
    Action,
    ContainersConfig,
    Engine,
    EngineError,
    EngineEvent,
    EngineSpec,
    LineSplitter,
    LogQuery,
    NoSocket,
    Stream,
    TopResult,
    cli_command,
    discover,
    enrich,
    spec_of,
)
from opsconsole.sources.events import (
    ContainerAction,
    ContainerChange,
    ContainerInfo,
    ContainerList,
    ContainerStats,
    ContainerStatsBatch,
    Event,
    LogLine,
    LogLines,
)

log = logging.getLogger(__name__)

RETRY_AFTER: Final = 2.0
"""Seconds between attempts to reach an engine that is not there: a failed connect costs
nothing, and an engine that comes back is followed again within this."""
ABSENT_RETRY_MAX: Final = 10.0
"""Most seconds between attempts at a socket that has never existed since the start (no such
engine on this host): the wait doubles from RETRY_AFTER up to this. Each attempt is a status
change the whole console takes in, and two absent engines cost a tenth of the console's idle
CPU at RETRY_AFTER; one started later still shows within this."""
REFRESH_DELAY: Final = 0.05
"""Seconds an event waits for the ones right behind it (die, then cleanup) before one relist."""
REFRESH_GAP: Final = 1.0
"""Least seconds between two relists that events ask for: a container in a tight crash loop
sends events all the time, and must not make the console list every container ten times a
second. Its state changes show at once all the same: the event patches the snapshot."""
_EVENT_STATES: Final[Mapping[str, Mapping[str, object]]] = {
    "die": {"state": "exited"},
    "start": {"state": "running", "exit_code": None},
    "pause": {"state": "paused"},
    "unpause": {"state": "running"},
    "oom": {"oom_killed": True},
}
"""What an event changes in its container's row, shown before the relist confirms it."""
NOISE: Final = frozenset(
    {"init", "cleanup", "attach", "detach", "mount", "unmount", "sync", "top", "resize", "wait"}
)
"""Engine event actions that change nothing an engineer watches: not sent on as changes."""
QUEUE_LIMIT: Final = 10_000
"""Items from the engine threads waiting for the event loop, at most; beyond it they are dropped."""
LOG_BATCH_LINES: Final = 5000
"""Lines in one LogLines batch at most."""
LOG_BUFFER_LINES: Final = 50_000
"""Lines a log reader may be ahead of its consumer; beyond it the oldest are dropped, counted."""


def make_engine(spec: EngineSpec, config: ContainersConfig) -> Engine:
    """The adapter for ``spec``'s API."""
    if spec.runtime == "podman":
        from opsconsole.sources.engine_podman import PodmanEngine

        return PodmanEngine(spec, max_streams=config.max_stats_streams)
    from opsconsole.sources.engine_docker import DockerEngine

    return DockerEngine(spec, max_streams=config.max_stats_streams)


def container_sources(
    config: ContainersConfig, *, host: str, env: Mapping[str, str] | None = None
) -> list[ContainerSource]:
    """A source for every engine found (see ``engine.discover``)."""
    return [
        ContainerSource(make_engine(spec, config), config, host=host)
        for spec in discover(config, env)
    ]


class _Failed:
    """An engine thread lost the engine: the source ends with this reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


_Item = EngineEvent | ContainerAction | _Failed | None
"""What engine threads hand to the event loop; None just wakes it (on close)."""


@dataclass
class _StatsWorker:
    """A thread streaming one running container's stats."""

    stop: threading.Event
    stream: Stream[ContainerStats] | None = None


class ContainerSource:
    """The containers of one engine as a stream of events (see the module's docstring)."""

    live = True

    def __init__(
        self,
        engine: Engine,
        config: ContainersConfig | None = None,
        *,
        host: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.config = config or ContainersConfig()
        self.host = host
        self.id = engine.spec.source_id
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(QUEUE_LIMIT)
        self._closed = threading.Event()
        self._events_stream: Stream[EngineEvent] | None = None
        self._workers: dict[str, _StatsWorker] = {}
        self._stats: dict[str, ContainerStats] = {}
        self._stats_dirty: set[str] = set()
        self._stats_lock = threading.Lock()
        self._inspected: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        """Per container: what the list showed when it was inspected, and the inspect's gist."""
        self._dirty: set[str] = set()
        """Containers an event says changed: inspected again at the next relist."""
        self._containers: tuple[ContainerInfo, ...] | None = None
        self.dropped = 0
        """Items from engine threads dropped because the event loop fell behind."""
        self.connected = False
        """True while the engine answers (between a successful open and a failure or close)."""
        self._reached = False
        """True once the engine answered: if its socket goes, it died and comes back soon."""
        self._absent = 0
        """Attempts in a row that found no socket, the engine never reached."""

    @property
    def runtime(self) -> str:
        """``podman`` or ``docker``."""
        return self.engine.spec.runtime

    @property
    def containers(self) -> tuple[ContainerInfo, ...]:
        """The containers as last listed (empty before the first list)."""
        return self._containers or ()

    # -- the Source protocol ----------------------------------------------------------------

    async def open(self) -> None:
        """Reach the engine; SourceUnavailable("podman unavailable: <reason>") when it is not."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(QUEUE_LIMIT)
        self._closed.clear()
        self._containers = None
        self._inspected.clear()
        try:
            await asyncio.to_thread(self.engine.connect)
        except NoSocket as exc:
            if self._reached:
                raise self._unavailable(str(exc)) from None
            self._absent += 1
            retry = min(ABSENT_RETRY_MAX, RETRY_AFTER * 2 ** (self._absent - 1))
            raise self._unavailable(str(exc), retry) from None
        except EngineError as exc:
            raise self._unavailable(str(exc)) from None
        self.connected = self._reached = True
        self._absent = 0

    async def events(self) -> AsyncIterator[Event]:
        """Snapshots, changes, stats and actions until the engine goes or the source closes."""
        # The event stream opens before the first list, so no change falls between them.
        try:
            self._events_stream = await asyncio.to_thread(self.engine.events)
        except EngineError as exc:
            raise self._unavailable(str(exc)) from None
        threading.Thread(
            target=self._read_events, args=(self._events_stream,), daemon=True, name=self.id
        ).start()
        executor = ThreadPoolExecutor(
            max_workers=self.config.inspect_concurrency, thread_name_prefix="inspect"
        )
        try:
            snapshot = await self._relist(executor)
            if snapshot is not None:
                yield snapshot
            loop = asyncio.get_running_loop()
            next_list = loop.time() + self.config.relist_interval
            next_stats = loop.time() + self.config.stats_interval
            refresh_at: float | None = None
            last_list = loop.time()
            while not self._closed.is_set():
                deadline = min(next_list, next_stats, refresh_at or next_list)
                item: _Item = None
                timeout = max(0.0, deadline - loop.time())
                with contextlib.suppress(TimeoutError):
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                if self._closed.is_set():
                    return
                if isinstance(item, _Failed):
                    raise self._unavailable(item.reason)
                if isinstance(item, ContainerAction):
                    yield item
                elif isinstance(item, EngineEvent):
                    change = self._change(item)
                    if change is not None:
                        yield change
                        if (patched := self._patched(change)) is not None:
                            yield patched
                    self._dirty.add(item.id)
                    if refresh_at is None:
                        refresh_at = max(loop.time() + REFRESH_DELAY, last_list + REFRESH_GAP)
                now = loop.time()
                if now >= next_list or (refresh_at is not None and now >= refresh_at):
                    refresh_at, next_list = None, now + self.config.relist_interval
                    last_list = now
                    snapshot = await self._relist(executor)
                    if snapshot is not None:
                        yield snapshot
                if now >= next_stats:
                    next_stats = now + self.config.stats_interval
                    if (batch := self._stats_batch()) is not None:
                        yield batch
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop every stream and thread of this source; idempotent."""
        self._closed.set()
        self.connected = False
        if self._events_stream is not None:
            self._events_stream.abort()
            self._events_stream = None
        for worker in list(self._workers.values()):
            self._stop_worker(worker)
        self._workers.clear()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wake events()
        await asyncio.to_thread(self.engine.close)

    # -- what the control facade adds to the stream -----------------------------------------

    def emit(self, event: ContainerAction) -> None:
        """Put an action the console took into this source's stream (from the event loop)."""
        self._post(event)

    # -- internals --------------------------------------------------------------------------

    def _unavailable(self, reason: str, retry: float = RETRY_AFTER) -> SourceUnavailable:
        self.connected = False
        return SourceUnavailable(f"{self.runtime} unavailable: {reason}", retry_after=retry)

    def _post(self, item: _Item) -> None:
        """Queue ``item`` for events() (in the event loop's thread)."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    def _post_threadsafe(self, item: _Item) -> None:
        loop = self._loop
        if loop is not None and not self._closed.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                loop.call_soon_threadsafe(self._post, item)

    def _read_events(self, stream: Stream[EngineEvent]) -> None:
        """The events thread: every event to the loop, then why the stream ended."""
        try:
            for event in stream:
                self._post_threadsafe(event)
            reason = "the engine closed its event stream"
        except Exception as exc:
            reason = f"connection to the engine lost ({type(exc).__name__})"
        if not stream.aborted:
            self._post_threadsafe(_Failed(reason))

    def _change(self, event: EngineEvent) -> ContainerChange | None:
        if event.action.startswith("exec_") or event.action in NOISE:
            return None  # healthcheck probes are exec pairs; the rest is the engine's plumbing
        return ContainerChange(
            ts=event.ts or self._clock(),
            host=self.host,
            source=self.id,
            engine=self.id,
            id=event.id,
            name=event.name,
            action=event.action,
            exit_code=event.exit_code,
            health=event.health,
            attributes=event.attributes,
        )

    def _patched(self, change: ContainerChange) -> ContainerList | None:
        """The snapshot with what ``change`` says done at once (the relist that follows it
        confirms and completes it); None when it says nothing the list shows."""
        fields = _EVENT_STATES.get(change.action)
        if fields is None or self._containers is None:
            return None
        fields = dict(fields)
        if change.action == "die":
            fields.update(exit_code=change.exit_code, finished_at=change.ts)
        elif change.action == "start":
            fields.update(started_at=change.ts)
        containers = tuple(
            msgspec.structs.replace(info, **fields) if info.id == change.id else info
            for info in self._containers
        )
        if containers == self._containers:
            return None
        self._containers = containers
        return ContainerList(
            ts=change.ts, host=self.host, source=self.id, engine=self.id, containers=containers
        )

    async def _relist(self, executor: ThreadPoolExecutor) -> ContainerList | None:
        """List, inspect what is new or changed, follow the stats of the running; the new
        snapshot, or None when nothing shown changed."""
        try:
            listed = await asyncio.to_thread(self.engine.list_containers)
        except EngineError as exc:
            raise self._unavailable(str(exc)) from None
        loop = asyncio.get_running_loop()
        dirty, self._dirty = self._dirty, set()
        todo = [
            info
            for info in listed
            if info.id in dirty
            or (cached := self._inspected.get(info.id)) is None
            or cached[0] != _stamp(info)
        ]
        results = await asyncio.gather(
            *(loop.run_in_executor(executor, self._inspect, info.id) for info in todo)
        )
        for info, gist in zip(todo, results, strict=True):
            if gist is not None:
                self._inspected[info.id] = (_stamp(info), gist)
        ids = {info.id for info in listed}
        for gone in self._inspected.keys() - ids:
            del self._inspected[gone]
        containers = tuple(
            enrich(info, self._inspected[info.id][1]) if info.id in self._inspected else info
            for info in listed
        )
        self._sync_stats([info.id for info in containers if info.state == "running"])
        if containers == self._containers:
            return None
        self._containers = containers
        return ContainerList(
            ts=self._clock(), host=self.host, source=self.id, engine=self.id, containers=containers
        )

    def _inspect(self, id: str) -> dict[str, Any] | None:
        """The part of an inspect that the list lacks (None when the container went)."""
        try:
            doc = self.engine.inspect(id)
        except EngineError:
            return None
        state = dict(doc.get("State") or {})
        health = state.get("Health") or state.get("Healthcheck")
        if isinstance(health, dict):
            # The probe log is big and changes with every probe; only the status is shown.
            state["Health"] = {"Status": health.get("Status")}
            state.pop("Healthcheck", None)
        return {"State": state, "RestartCount": doc.get("RestartCount")}

    # -- stats ------------------------------------------------------------------------------

    def _sync_stats(self, running: list[str]) -> None:
        """One stats thread per running container (up to the limit); stop the others."""
        if not self.config.stats:
            return
        wanted = set(running[: self.config.max_stats_streams])
        for id in list(self._workers):
            if id not in wanted:
                self._stop_worker(self._workers.pop(id))
        with self._stats_lock:
            for id in list(self._stats):
                if id not in wanted:
                    del self._stats[id]
                    self._stats_dirty.discard(id)
        for id in wanted - self._workers.keys():
            worker = _StatsWorker(threading.Event())
            self._workers[id] = worker
            threading.Thread(
                target=self._read_stats, args=(id, worker), daemon=True, name=f"stats:{id[:12]}"
            ).start()

    def _stop_worker(self, worker: _StatsWorker) -> None:
        worker.stop.set()
        if worker.stream is not None:
            worker.stream.abort()

    def _read_stats(self, id: str, worker: _StatsWorker) -> None:
        """A stats thread: keep the latest read; end when the container or the source does."""
        try:
            stream = self.engine.stats(id)
            worker.stream = stream
            if worker.stop.is_set():
                stream.abort()
            for stats in stream:
                if worker.stop.is_set():
                    break
                with self._stats_lock:
                    self._stats[id] = stats
                    self._stats_dirty.add(id)
        except Exception as exc:  # the container stopped, or the engine went: the relist knows
            log.debug("stats of %s ended: %s", id, exc)
        finally:
            loop = self._loop
            if loop is not None and not worker.stop.is_set():
                # Ended by itself: forget it, so the next relist starts another if need be.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._worker_ended, id, worker)

    def _worker_ended(self, id: str, worker: _StatsWorker) -> None:
        if self._workers.get(id) is worker:
            del self._workers[id]

    def _stats_batch(self) -> ContainerStatsBatch | None:
        with self._stats_lock:
            if not self._stats_dirty:
                return None
            stats = tuple(self._stats[id] for id in self._stats_dirty if id in self._stats)
            self._stats_dirty.clear()
        return ContainerStatsBatch(
            ts=self._clock(), host=self.host, source=self.id, engine=self.id, stats=stats
        )


def _stamp(info: ContainerInfo) -> tuple[Any, ...]:
    """What, in a list item, means an inspect taken before may be out of date."""
    return (info.state, info.health, info.exit_code, info.started_at, info.finished_at)


# --- the control facade ------------------------------------------------------------------


class ReadOnlyError(PermissionError):
    """An action was asked for in read-only mode."""


class ContainerControl:
    """What the container panes may do: look (inspect, top, logs) and act.

    One facade serves every engine; calls name the engine by its source id. Everything blocking
    runs in threads. In read-only mode, ``act`` refuses (ReadOnlyError) without touching the
    engine.
    """

    def __init__(self, sources: Iterable[ContainerSource], *, read_only: bool = False) -> None:
        self._sources = {source.id: source for source in sources}
        self.read_only = read_only
        """True when actions are refused."""

    @property
    def engines(self) -> list[str]:
        """Source ids of the engines this facade reaches."""
        return list(self._sources)

    def _source(self, engine: str) -> ContainerSource:
        source = self._sources.get(engine)
        if source is None:
            raise EngineError(f"unknown engine {engine}")
        if not source.connected:
            raise EngineError(f"{source.runtime} unavailable")
        return source

    async def inspect(self, engine: str, id: str) -> dict[str, Any]:
        """The engine's inspect document of a container."""
        return await asyncio.to_thread(self._source(engine).engine.inspect, id)

    async def top(self, engine: str, id: str) -> TopResult:
        """The processes of a running container."""
        return await asyncio.to_thread(self._source(engine).engine.top, id)

    def command(self, engine: str, name: str, action: Action) -> str:
        """The CLI command that does ``action``, as the confirmation shows it."""
        source = self._sources.get(engine)
        spec = source.engine.spec if source is not None else spec_of(engine)
        return cli_command(spec.runtime, action, name, spec.url)

    async def act(self, engine: str, id: str, name: str, action: Action) -> ContainerAction:
        """Run ``action`` in a thread; the outcome (ok or the error) as an event, also emitted
        into the engine's stream. ReadOnlyError in read-only mode; EngineError for an engine
        this facade does not reach (a replayed one)."""
        if self.read_only:
            raise ReadOnlyError(f"read-only mode: {action} {name} refused")
        source = self._sources.get(engine)
        if source is None:  # a container from a recording: nothing here can act on it
            raise EngineError(f"{engine} is not an engine of this console")
        error: str | None = None
        try:
            await asyncio.to_thread(self._source(engine).engine.act, id, action)
        except EngineError as exc:
            error = str(exc)
        event = ContainerAction(
            ts=time.time(),
            host=source.host,
            source=source.id,
            engine=source.id,
            id=id,
            name=name,
            action=action,
            command=self.command(engine, name, action),
            ok=error is None,
            error=error,
        )
        source.emit(event)
        return event

    async def logs(
        self, engine: str, id: str, name: str, query: LogQuery | None = None
    ) -> AsyncIterator[LogLines]:
        """A container's log as batches of lines (stdout and stderr told apart), following
        when asked, until the container goes or the caller stops iterating.

        A consumer that falls behind loses the oldest batches; the next batch says how many
        lines were dropped. EngineError when the log cannot be opened.
        """
        query = query or LogQuery()
        source = self._source(engine)
        stream = await asyncio.to_thread(source.engine.logs, id, query)
        reader = _LogReader(stream, query, f"container:{engine}:{name}", source)
        reader.start(asyncio.get_running_loop())
        try:
            while (batch := await reader.next()) is not None:
                yield batch
        finally:
            stream.abort()


class _LogReader:
    """A thread reading a log stream into a bounded buffer of lines that the loop drains.

    The loop is woken once per drain, not once per line, so a burst arrives as one batch and a
    quiet follow shows each line at once. When the consumer is behind, the oldest lines go and
    the next batch counts them.
    """

    def __init__(
        self, stream: Stream[tuple[Any, bytes]], query: LogQuery, name: str, source: ContainerSource
    ) -> None:
        self._stream = stream
        self._splitter = LineSplitter(query.timestamps)
        self._name = name
        self._source = source
        self._lines: deque[LogLine] = deque()
        self._dropped = 0
        self._ended = False
        self._lock = threading.Lock()
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading in a thread."""
        self._loop = loop
        threading.Thread(target=self._run, daemon=True, name=self._name).start()

    async def next(self) -> LogLines | None:
        """The lines read since the last call (at most a batch), or None at the end."""
        while True:
            with self._lock:
                if self._lines:
                    count = min(len(self._lines), LOG_BATCH_LINES)
                    lines = tuple(self._lines.popleft() for _ in range(count))
                    dropped, self._dropped = self._dropped, 0
                    if not self._lines:
                        self._ready.clear()
                    break
                if self._ended:
                    return None
                self._ready.clear()
            await self._ready.wait()
        return LogLines(
            ts=time.time(),
            host=self._source.host,
            source=self._source.id,
            stream=self._name,
            lines=lines,
            dropped=dropped,
        )

    def _add(self, lines: list[LogLine], ended: bool = False) -> None:
        with self._lock:
            wake = not self._lines and not self._ended
            self._lines.extend(lines)
            excess = len(self._lines) - LOG_BUFFER_LINES
            for _ in range(max(0, excess)):
                self._lines.popleft()
            self._dropped += max(0, excess)
            self._ended = ended
        if (wake and lines) or ended:
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                self._loop.call_soon_threadsafe(self._ready.set)

    def _run(self) -> None:
        try:
            for stream, chunk in self._stream:
                if lines := self._splitter.feed(stream, chunk):
                    self._add(lines)
        except Exception as exc:  # the container or the engine went: the log ends
            log.debug("log %s ended: %s", self._name, exc)
        self._add(self._splitter.flush(), ended=True)
