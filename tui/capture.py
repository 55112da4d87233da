"""``opsconsole capture`` and the flight recorder: the live stream into a bundle.

Headless. Capture runs the same sources the live console runs (the host, every container
engine found, MQTT alerts when configured) through a hub for a while, records every event, then
adds snapshots (host facts, the process table, the console's config, every container's inspect
and the tail of its log), the newest part of the host's log files and journal, and the open
investigation, and writes a bundle (tui/bundle.py), redacted unless told not to.

The flight recorder keeps the last minutes of the stream in memory (bounded in time and count)
and writes them as a bundle on demand or when a critical alert arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import enum
import itertools
import os
import platform
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from opsconsole import paths
from opsconsole.bundle import BundleError, BundleWriter
from opsconsole.config import Config
from opsconsole.hub import Hub
from opsconsole.recorder import Recorder
from opsconsole.sources.base import Source
from opsconsole.sources.events import Alert, ContainerList, Event, ProcessTable, encode

EXIT_ERROR = 1
EXIT_USAGE = 2
CONTAINER_LOG_LINES = 2000
"""Lines of each container's log the bundle keeps (the newest)."""
HOST_LOGS = (
    "/var/log/syslog",
    "/var/log/messages",
    "/var/log/kern.log",
    "/var/log/auth.log",
    "/var/log/daemon.log",
)
"""The host's logs an engineer looks at first, taken when they exist."""
HOST_LOG_DIR = "/var/log"
HOST_LOG_NEWEST = 10
"""The newest files of /var/log taken besides HOST_LOGS (binary and compressed ones skipped)."""
_ROTATED = (".gz", ".xz", ".bz2", ".zst", ".lz4", ".zip", ".journal", ".journal~")
_BINARY_LOGS = frozenset(("wtmp", "btmp", "lastlog", "faillog", "utmp"))
"""Login records in /var/log: binary, never text, whatever they hold now."""


def live_sources(config: Config, host: str) -> tuple[list[Source], list[Any]]:
    """The sources the live console runs, and the container engines among them."""
    from opsconsole.sources.containers import container_sources
    from opsconsole.sources.host import HostSource

    engines = container_sources(config.containers, host=host)
    sources: list[Source] = [
        HostSource(interval=config.refresh, process_rows=config.process_rows),
        *engines,
    ]
    if config.mqtt.url:
        from opsconsole.sources.mqtt_alerts import AlertSource

        sources.append(AlertSource(config.mqtt.settings(), host=host))
    return sources, engines


def _plain(value: Any) -> Any:
    """Settings as JSON data: dataclasses, mappings, paths and enums made plain."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100] or "_"


def host_facts(host: str) -> dict[str, Any]:
    """uname, host name, uptime and boot time of this host."""
    uname = platform.uname()
    facts: dict[str, Any] = {
        "hostname": host,
        "uname": {
            "system": uname.system,
            "node": uname.node,
            "release": uname.release,
            "version": uname.version,
            "machine": uname.machine,
        },
        "captured": time.time(),
    }
    with contextlib.suppress(OSError, ValueError, IndexError):
        facts["uptime_seconds"] = float(Path("/proc/uptime").read_text().split()[0])
    return facts


def add_host_snapshots(writer: BundleWriter, host: str, config: Config | None) -> None:
    """Host facts, os-release and the console's config into ``snapshots/``."""
    writer.add_json("snapshots/host.json", host_facts(host))
    with contextlib.suppress(OSError):
        writer.add_file("snapshots/os-release", Path("/etc/os-release"))
    if config is not None:
        writer.add_json("snapshots/config.json", _plain(config))


def add_latest(writer: BundleWriter, latest: list[Event]) -> None:
    """The newest process table as its own snapshot."""
    for event in latest:
        if isinstance(event, ProcessTable):
            writer.add_json("snapshots/processes.json", msgspec.to_builtins(event))


async def add_containers(writer: BundleWriter, engines: list[Any], latest: list[Event]) -> None:
    """Every listed container's inspect and the tail of its log."""
    from opsconsole.sources.containers import ContainerControl
    from opsconsole.sources.engine import EngineError, LogQuery

    control = ContainerControl(engines, read_only=True)
    query = LogQuery(follow=False, tail=CONTAINER_LOG_LINES)
    for listing in latest:
        if not isinstance(listing, ContainerList):
            continue
        for info in listing.containers:
            name = _safe_name(info.name or info.id)
            with contextlib.suppress(EngineError, OSError):
                inspect = await control.inspect(listing.engine, info.id)
                writer.add_json(f"snapshots/containers/{name}.json", inspect)
            lines: list[str] = []
            with contextlib.suppress(EngineError, OSError):
                async for batch in control.logs(listing.engine, info.id, info.name, query):
                    lines += (line.text for line in batch.lines)
            if lines:
                relpath = f"logs/containers/{name}.log"
                writer.add_bytes(relpath, "\n".join(lines).encode() + b"\n")
                stream = f"container:{listing.engine}:{info.name or info.id}"
                writer.logs.append({"file": relpath, "stream": stream, "kind": "container"})


# -- the host's logs -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HostLogLimits:
    """How much of the host's logs a bundle keeps: the newest part of each, and a total."""

    lines: int = 5000
    """Lines of each file (the newest)."""
    bytes: int = 4 * 1024 * 1024
    """Bytes of each file (the newest whole lines)."""
    total: int = 64 * 1024 * 1024
    """Bytes of all host logs together; files past it are listed as cut entirely."""
    journal: bool = True
    """Take ``journalctl -o json`` (its last ``lines`` entries) when it has any."""


def host_log_paths(extra: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The host's log files to take (the usual ones, the newest of /var/log, then ``extra``:
    files, directories and globs the user named), each once; and notes about ``extra``."""
    from opsconsole.sources.log_sources import expand_paths

    newest, _ = expand_paths([HOST_LOG_DIR], limit=HOST_LOG_NEWEST)
    named, notes = expand_paths(list(extra))
    standard = [path for path in HOST_LOGS if os.path.isfile(path)]  # noqa: PTH113
    seen: set[str] = set()
    files: list[str] = []
    usual = (p for p in newest if not p.endswith(_ROTATED) and Path(p).name not in _BINARY_LOGS)
    for path in (*standard, *usual, *named):
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(path)
    return files, notes


def _log_relpath(path: str, taken: set[str]) -> str:
    """``logs/host/<path>``, each part made a safe name, unique among ``taken``."""
    parts = [_safe_name(part) for part in Path(os.path.abspath(path)).parts[1:]]  # noqa: PTH100
    relpath = "logs/host/" + "/".join(parts or ["_"])
    candidate, counter = relpath, 1
    while candidate in taken:
        counter += 1
        candidate = f"{relpath}.{counter}"
    taken.add(candidate)
    return candidate


def _tail(path: str, max_bytes: int, max_lines: int) -> tuple[bytes, int]:
    """The newest whole lines of a regular file (within both caps) and its size.

    Opened without blocking (a fifo named by mistake) nor following into a terminal; OSError
    when it cannot be read, ValueError when it is not a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        size = fh.seek(0, os.SEEK_END)
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = fh.read(max_bytes)
    if start:
        data = data.partition(b"\n")[2]  # the first line was cut: keep whole lines only
    if data.count(b"\n") > max_lines:
        data = b"".join(data.splitlines(keepends=True)[-max_lines:])
    return data, size


def add_host_logs(
    writer: BundleWriter, extra: Sequence[str] = (), limits: HostLogLimits | None = None
) -> None:
    """The newest part of the host's log files (and the journal) into ``logs/host/``.

    Bounded per file and in all; what was cut (``cut_bytes``) or skipped (binary, over the
    total) is in the manifest's ``logs`` entries. A file that cannot be read (permission denied
    without root) is a line in its ``problems``.
    """
    from opsconsole.sources.log_index import BINARY_SAMPLE, looks_binary

    limits = limits or HostLogLimits()
    files, notes = host_log_paths(extra)
    writer.problems.extend(f"--log {note}" for note in notes)
    budget = limits.total
    taken: set[str] = set()
    for path in files:
        entry: dict[str, Any] = {"path": path, "stream": f"file:{path}", "kind": "host"}
        if budget <= 0:
            writer.logs.append({**entry, "skipped": f"the {limits.total}-byte total was reached"})
            continue
        try:
            data, size = _tail(path, min(limits.bytes, budget), limits.lines)
        except PermissionError:
            writer.problems.append(f"{path}: permission denied (run as root to include it)")
            continue
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            writer.problems.append(f"{path}: not taken ({reason or error})")
            continue
        if not data or looks_binary(data[:BINARY_SAMPLE]):
            writer.logs.append({**entry, "skipped": "binary" if data else "empty"})
            continue
        budget -= len(data)
        entry["file"] = _log_relpath(path, taken)
        entry.update(size=size, kept_bytes=len(data), cut_bytes=size - len(data))
        writer.add_bytes(entry["file"], data)
        writer.logs.append(entry)
    if limits.journal:
        _add_journal(writer, min(limits.bytes, max(0, budget)), limits.lines)


def _add_journal(writer: BundleWriter, max_bytes: int, lines: int) -> None:
    """``journalctl -o json`` (its last ``lines`` entries) as ``logs/host/journal.jsonl``, when
    journalctl exists and has entries."""
    from opsconsole.sources.log_sources import journal_command

    try:
        done = subprocess.run(
            journal_command(follow=False, lines=lines),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        return  # no journald on this host: nothing to take
    except (OSError, subprocess.TimeoutExpired) as error:
        writer.problems.append(f"journalctl: not taken ({error})")
        return
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        writer.problems.append(
            f"journalctl: exited with {done.returncode} ({message[0] if message else 'no message'})"
        )
        return
    entries = [line for line in done.stdout.splitlines() if line.startswith(b"{")]
    kept: list[bytes] = []
    for line in reversed(entries):  # the newest entries, within the byte cap
        max_bytes -= len(line) + 1
        if max_bytes < 0:
            break
        kept.append(line)
    if kept:
        relpath = "logs/host/journal.jsonl"
        writer.add_bytes(relpath, b"\n".join(reversed(kept)) + b"\n")
        writer.logs.append(
            {
                "file": relpath,
                "stream": "journal:all",
                "kind": "journal",
                "kept_entries": len(kept),
                "cut_entries": len(entries) - len(kept),
            }
        )


class Progress:
    """Progress and ETA on a stream: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: IO[str], total: float) -> None:
        self.stream = stream
        self.total = total
        self.tty = stream.isatty()
        self._last_plain = -1.0

    def update(self, elapsed: float, events: int) -> None:
        """Report ``elapsed`` seconds of ``total`` and the events recorded so far."""
        left = max(0.0, self.total - elapsed)
        text = (
            f"capture: {elapsed:5.0f}s of {self.total:.0f}s"
            f" ({min(100.0, 100 * elapsed / self.total):3.0f}%), {events} events, ETA {left:.0f}s"
        )
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
        elif elapsed - self._last_plain >= max(1.0, self.total / 10) or left == 0:
            self._last_plain = elapsed
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, message: str) -> None:
        """The closing line."""
        self.stream.write(("\n" if self.tty else "") + message + "\n")
        self.stream.flush()


def default_output(host: str, fmt: str, now: float | None = None) -> Path:
    """``./opsconsole-<host>-<UTC time>`` with the format's extension."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    name = f"opsconsole-{_safe_name(host)}-{stamp}"
    return Path.cwd() / (name if fmt == "dir" else f"{name}.{fmt}")


async def capture(
    config: Config,
    *,
    duration: float,
    output: Path,
    redact: bool = True,
    fmt: str = "tar.gz",
    sources: tuple[list[Source], list[Any]] | None = None,
    host: str | None = None,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    logs: Sequence[str] = (),
    log_limits: HostLogLimits | None = None,
) -> Path:
    """Record for ``duration`` seconds (or until ``stop``) and write the bundle; its path.

    ``output`` is the bundle's path; for an archive format, with or without the extension.
    ``sources`` (sources, engines) defaults to the live console's. ``logs`` (files,
    directories, globs) are taken besides the host's usual logs.
    """
    host = host or socket.gethostname()
    running, engines = sources if sources is not None else live_sources(config, host)
    stop = stop or asyncio.Event()
    root = output
    if fmt != "dir" and output.name.endswith("." + fmt):
        root = output.with_name(output.name[: -len(fmt) - 1])
    if output.exists() or root.exists():
        raise BundleError(f"{output} already exists")
    # The unredacted recording stays in a private (0700) directory until it is redacted.
    staging = Path(tempfile.mkdtemp(prefix="opsconsole-capture-"))
    try:
        hub = Hub(running, host=host)
        recorder = Recorder(hub, staging / "events.jsonl")
        recorder.start()
        await hub.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        while (elapsed := loop.time() - started) < duration and not stop.is_set():
            if progress is not None:
                progress.update(elapsed, recorder.written)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(1.0, duration - elapsed))
        if progress is not None:
            progress.update(min(duration, loop.time() - started), recorder.written)
        latest = hub.snapshot()
        writer = BundleWriter(root, redact=redact)
        await add_containers(writer, engines, latest)
        await recorder.stop()
        await hub.stop()
        if recorder.error is not None:
            raise BundleError(f"recording failed: {recorder.error}")
        await asyncio.to_thread(_fill, writer, staging, host, config, latest)
        await asyncio.to_thread(add_host_logs, writer, logs, log_limits)
        return await asyncio.to_thread(writer.finish, host=host, fmt=fmt)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class UiRecording:
    """A recording of a running console's stream into a bundle in the data directory, started
    and stopped from the UI (the console's own hub: nothing is sampled twice)."""

    def __init__(self, hub: Hub, *, config: Config, host: str, redact: bool = True) -> None:
        self.host = host
        self.started = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.started))
        self.output = paths.data_dir() / "bundles" / f"recording-{_safe_name(host)}-{stamp}"
        self._config = config
        self._redact = redact
        self._hub = hub
        # The unredacted stream stays in a private (0700) directory until it is redacted.
        self._staging = Path(tempfile.mkdtemp(prefix="opsconsole-recording-"))
        self._recorder = Recorder(hub, self._staging / "events.jsonl")
        self._recorder.start()

    async def stop(self) -> Path:
        """Stop and write the bundle (``.tar.gz``); its path. BundleError or OSError if not."""
        latest = self._hub.snapshot()
        await self._recorder.stop()
        try:
            if self._recorder.error is not None:
                raise BundleError(f"recording failed: {self._recorder.error}")
            paths.ensure_dir(self.output.parent)
            writer = BundleWriter(self.output, redact=self._redact)
            await asyncio.to_thread(_fill, writer, self._staging, self.host, self._config, latest)
            await asyncio.to_thread(add_host_logs, writer)
            return await asyncio.to_thread(writer.finish, host=self.host, fmt="tar.gz")
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)


def _fill(
    writer: BundleWriter, staging: Path, host: str, config: Config, latest: list[Event]
) -> None:
    writer.add_events_file(staging / "events.jsonl")
    add_host_snapshots(writer, host, config)
    add_latest(writer, latest)
    writer.add_investigation(config.investigation.store or _default_store())


def _default_store() -> Path:
    from opsconsole.store import store_path

    return store_path()


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``opsconsole capture``; the exit status (the bundle's path on stdout)."""
    host = socket.gethostname()
    output = args.output or default_output(host, args.format)
    progress = Progress(sys.stderr, args.duration)

    async def main() -> Path:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        return await capture(
            config,
            duration=args.duration,
            output=output,
            redact=args.redact,
            fmt=args.format,
            host=host,
            progress=progress,
            stop=stop,
            logs=args.log,
        )

    try:
        path = asyncio.run(main())
    except (BundleError, OSError) as error:
        progress.done(f"opsconsole capture: {error}")
        return EXIT_ERROR
    progress.done(f"capture: wrote {path}" + ("" if args.redact else " (NOT redacted)"))
    print(path)
    return 0


# -- the flight recorder -----------------------------------------------------------------


class FlightRecorder:
    """Keeps the last ``minutes`` of the hub's stream in memory and writes them as a bundle.

    Memory is bounded twice: by time (older events go) and by ``max_events``. A critical alert
    writes a bundle by itself, at most once per ``cooldown`` seconds, so an alert storm does not
    fill the disk. ``on_written(path, error)`` tells the app (from the event loop).
    """

    def __init__(
        self,
        hub: Hub,
        *,
        directory: Path | None = None,
        minutes: float = 10.0,
        max_events: int = 200_000,
        host: str | None = None,
        redact: bool = True,
        cooldown: float = 300.0,
        config: Config | None = None,
        on_written: Callable[[Path | None, str | None], None] | None = None,
    ) -> None:
        self.directory = directory or paths.data_dir() / "bundles"
        self.window = minutes * 60
        self.host = host or socket.gethostname()
        self.redact = redact
        self.cooldown = cooldown
        self.config = config
        self.on_written = on_written
        self._hub = hub
        self._events: deque[Event] = deque(maxlen=max_events)
        self._subscription = hub.subscribe(maxlen=8192)
        self._task: asyncio.Task[None] | None = None
        self._last_auto = -float("inf")
        self._writing: set[asyncio.Task[Path | None]] = set()

    def __len__(self) -> int:
        return len(self._events)

    def start(self) -> None:
        """Start keeping events."""
        self._task = asyncio.create_task(self._keep(), name="opsconsole:flight-recorder")

    async def stop(self) -> None:
        """Stop keeping events (bundles being written are finished). Idempotent."""
        self._hub.unsubscribe(self._subscription)
        if self._task is not None:
            await self._task
            self._task = None
        if self._writing:
            await asyncio.gather(*self._writing)

    async def _keep(self) -> None:
        while batch := await self._subscription.batch():
            self._events.extend(batch)
            newest = batch[-1].ts
            while self._events and self._events[0].ts < newest - self.window:
                self._events.popleft()
            if any(_critical(event) for event in batch):
                now = time.monotonic()
                if now - self._last_auto >= self.cooldown:
                    self._last_auto = now
                    task = asyncio.create_task(self.write("critical alert"))
                    self._writing.add(task)
                    task.add_done_callback(self._writing.discard)

    async def write(self, reason: str = "on demand") -> Path | None:
        """Write what is kept as a bundle directory; its path (None on failure, told through
        ``on_written``)."""
        events = list(self._events)
        latest = self._hub.snapshot()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        # Numbered: a critical alert and ctrl+b in the same second each get their bundle (the
        # second was refused, its directory already there).
        number = next(_FLIGHT_NUMBERS)
        root = self.directory / f"flight-{_safe_name(self.host)}-{stamp}-{os.getpid()}-{number}"
        try:
            path: Path | None = await asyncio.to_thread(self._write, root, events, latest, reason)
            error = None
        except (OSError, BundleError) as exc:
            path, error = None, str(exc)
        if self.on_written is not None:
            self.on_written(path, error)
        return path

    def _write(self, root: Path, events: list[Event], latest: list[Event], reason: str) -> Path:
        paths.ensure_dir(self.directory)
        writer = BundleWriter(root, redact=self.redact)
        writer.add_event_lines(encode(event) for event in events)
        add_host_snapshots(writer, self.host, self.config)
        add_latest(writer, latest)
        writer.add_json("snapshots/flight-recorder.json", {"reason": reason})
        add_host_logs(writer)
        if self.config is not None:
            writer.add_investigation(self.config.investigation.store or _default_store())
        return writer.finish(host=self.host, fmt="dir")


_FLIGHT_NUMBERS = itertools.count(1)
"""Flight recordings written by this process."""


def _critical(event: Event) -> bool:
    return isinstance(event, Alert) and event.severity == "critical" and not event.resolved
