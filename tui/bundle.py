"""The bundle: what ``opsconsole capture`` writes and ``opsconsole open`` reads.

Headless. A bundle is a directory, or a ``.tar.gz`` / ``.tar.zst`` of one, holding::

    manifest.json         format and tool versions, host, time span, sources, event counts,
                          sha256 and size of every other file, redaction on/off and its summary
    events.jsonl          the event stream, one sources/events.py event per line
    snapshots/            host facts, the process table, the console's config, container inspects
    logs/                 raw log files, each bounded to its newest part: containers/<name>.log,
                          host/<path> (the host's log files), host/journal.jsonl (journalctl)
    investigation/        investigation.db (SQLite backup) and report.md, when an incident was open

Readers dispatch on ``format_version``: each version keeps its reader, so a newer opsconsole still
reads old bundles; a bundle newer than this opsconsole is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path, PosixPath
from typing import IO, Any

import msgspec

from opsconsole import __version__
from opsconsole.redact import Redactor
from opsconsole.sources.events import Event, SourceHealth, SourceStatus

FORMAT = "opsconsole-bundle"
FORMAT_VERSION = 1
"""The version this opsconsole writes."""
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
FORMATS = ("dir", "tar.gz", "tar.zst")
RAW_LOG_LIMIT = 8 * 1024 * 1024
"""Raw log files larger than this are not copied whole (their last part is)."""


class BundleError(Exception):
    """A bundle that cannot be opened; ``str()`` is one line fit for the user."""


class FutureBundleError(BundleError):
    """A bundle written by a newer opsconsole, in a format version this one does not read."""


class _Head(msgspec.Struct):
    """What the manifest needs of each event, decoded without the rest."""

    kind: str
    ts: float
    source: str


_head_decoder = msgspec.json.Decoder(_Head)


@dataclass
class _EventStats:
    counts: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    start: float | None = None
    end: float | None = None

    def add(self, line: bytes) -> None:
        try:
            head = _head_decoder.decode(line)
        except msgspec.DecodeError:
            self.counts["invalid"] += 1
            return
        self.counts[head.kind] += 1
        self.sources.add(head.source)
        # The hub's statuses carry the wall clock of the capture, not the facts': not the span.
        if head.kind not in (_tag(SourceStatus), _tag(SourceHealth)):
            self.start = head.ts if self.start is None else min(self.start, head.ts)
            self.end = head.ts if self.end is None else max(self.end, head.ts)


def _tag(cls: type[Event]) -> str:
    return str(cls.__struct_config__.tag)


def sha256_file(path: Path, stop: threading.Event | None = None) -> str:
    """Hex sha256 of a file, read in blocks; ExtractionStopped once ``stop`` is set."""
    from opsconsole.sources.archive import ExtractionStopped

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            if stop is not None and stop.is_set():
                raise ExtractionStopped(path.name)
            digest.update(block)
    return digest.hexdigest()


class BundleWriter:
    """Builds a bundle in a directory, redacting (unless told not to) everything it adds.

    Add the parts, then ``finish`` writes the manifest and, for an archive format, packs the
    directory into one file and removes it.
    """

    def __init__(self, root: Path, *, redact: bool = True) -> None:
        self.root = root
        self.redact = redact
        self._redactor = Redactor()
        self._stats = _EventStats()
        self._extra: dict[str, Any] = {}
        self.logs: list[dict[str, Any]] = []
        """The manifest's ``logs``: each log file's ``file``, ``stream`` id and ``kind``
        (``container``, ``host``, ``journal``), and for host logs what was cut."""
        self.problems: list[str] = []
        """The manifest's ``problems``: what the capture could not include, one line each."""
        root.mkdir(parents=True, exist_ok=False)

    def _target(self, relpath: str) -> Path:
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_event_lines(self, lines: Iterable[bytes]) -> None:
        """The event stream as encoded JSON lines (appended to events.jsonl)."""
        with self._target(EVENTS).open("ab") as out:
            for line in lines:
                line = line.strip()
                if not line:
                    continue
                if self.redact:
                    line = self._redactor.json_bytes(line, EVENTS)
                self._stats.add(line)
                out.write(line + b"\n")

    def add_events_file(self, path: Path) -> None:
        """The event stream from a recording (as tui/recorder.py writes it)."""
        with path.open("rb") as fh:
            self.add_event_lines(fh)

    def add_json(self, relpath: str, value: Any) -> None:
        """A JSON document (values that JSON lacks are written as text)."""
        data = json.dumps(value, indent=2, sort_keys=True, default=str).encode()
        self.add_bytes(relpath, data)

    def add_bytes(self, relpath: str, data: bytes) -> None:
        """A file from memory, redacted by the kind its name says."""
        with self._target(relpath).open("wb") as out:
            if self.redact:
                self._redactor.copy(io.BytesIO(data), out, relpath)
            else:
                out.write(data)

    def add_file(self, relpath: str, source: Path, *, limit: int = RAW_LOG_LIMIT) -> None:
        """A file from disk; only its last ``limit`` bytes when larger."""
        with source.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - limit))
            if size > limit:
                fh.readline()  # start at a whole line
            self.add_bytes(relpath, fh.read())

    def add_investigation(self, store: Path, incident_id: int | None = None) -> str | None:
        """A consistent copy of the investigation store (SQLite's online backup, redacted in
        place) and the Markdown report of ``incident_id`` (default: the open one). The
        incident's ref, or None when there is no store or no incident."""
        from opsconsole.report import render_report
        from opsconsole.store import Store, StoreError

        if not store.exists():
            return None
        try:
            with Store.open(store, read_only=True) as opened:
                incident = (
                    opened.incident(incident_id)
                    if incident_id is not None
                    else opened.current_incident()
                )
                if incident is None:
                    return None
                report = render_report(opened.bundle(incident.id))
        except StoreError:
            return None
        copy = self._target("investigation/investigation.db")
        source = sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
            if self.redact:
                _redact_database(target, self._redactor, "investigation/investigation.db")
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            source.close()
            target.close()
        self.add_bytes("investigation/report.md", report.encode())
        self._extra["investigation"] = {
            "incident": incident.ref,
            "store": "investigation/investigation.db",
            "report": "investigation/report.md",
        }
        return incident.ref

    def finish(self, *, host: str, fmt: str = "dir", created: float | None = None) -> Path:
        """Write the manifest; pack when ``fmt`` is an archive. The bundle's path."""
        if fmt not in FORMATS:
            raise BundleError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
        self._target(EVENTS).touch()
        files = {
            path.relative_to(self.root).as_posix(): {
                "sha256": sha256_file(path),
                "size": path.stat().st_size,
            }
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and path.name != MANIFEST
        }
        stats = self._stats
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tool": "opsconsole",
            "tool_version": __version__,
            "created": time.time() if created is None else created,
            "host": host,
            "time_span": {"start": stats.start, "end": stats.end},
            "sources": sorted(stats.sources),
            "event_counts": dict(sorted(stats.counts.items())),
            "files": files,
            "redaction": {"enabled": self.redact, "masked": self._redactor.report()},
            "logs": self.logs,
            "problems": self.problems,
            **self._extra,
        }
        (self.root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if fmt == "dir":
            return self.root
        archive = self.root.with_name(self.root.name + "." + fmt)
        pack(self.root, archive)
        shutil.rmtree(self.root)
        return archive


def _redact_database(db: sqlite3.Connection, redactor: Redactor, file: str) -> None:
    """Every text value of every ordinary table through the redactor."""
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            " AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            rows = db.execute(
                f'SELECT rowid, "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''
            ).fetchall()
            for rowid, value in rows:
                masked = redactor.text(value, file)
                if masked != value:
                    db.execute(
                        f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', (masked, rowid)
                    )
    db.commit()


def pack(directory: Path, archive: Path) -> None:
    """A directory as ``.tar.gz`` or ``.tar.zst`` (members under the directory's name)."""
    if archive.name.endswith(".tar.zst"):
        try:
            import zstandard  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise BundleError(
                "tar.zst needs the zstandard package (pip install zstandard); use tar.gz"
            ) from None
        with (
            archive.open("wb") as raw,
            zstandard.ZstdCompressor().stream_writer(raw) as zst,
            tarfile.open(fileobj=zst, mode="w|") as tar,
        ):
            _add_tree(tar, directory)
        return
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        _add_tree(tar, directory)


def _add_tree(tar: tarfile.TarFile, directory: Path) -> None:
    """The bundle's files, the manifest, the investigation and the event stream first: a reader
    streaming the archive has what the first screen needs before the rest (``open_streaming``),
    and a cut archive keeps them."""
    tar.add(directory, arcname=directory.name, recursive=False)
    first = [directory / MANIFEST, directory / "investigation", directory / EVENTS]
    for path in first:
        if path.exists():
            tar.add(path, arcname=f"{directory.name}/{path.name}")
    for path in sorted(directory.iterdir()):
        if path not in first:
            tar.add(path, arcname=f"{directory.name}/{path.name}")


# -- reading -------------------------------------------------------------------------------


@dataclass
class Bundle:
    """An opened bundle: its root directory (extracted when it was an archive) and manifest."""

    root: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    """What is damaged (checksums, truncation), each one line; what remains still opens."""
    pending: Future[list[str]] | None = None
    """Opened by ``open_streaming``: the problems still being looked for (the rest of the
    archive extracting, the checksums), or the BundleError that refused the rest."""
    stream: Path | None = None
    """The event stream while it is still being extracted (a ``GrowingFile``)."""
    stop: threading.Event | None = None
    """Set by ``close`` to stop an extraction under way."""

    @property
    def events(self) -> Path:
        """The event stream."""
        return self.stream or self.root / EVENTS

    def close(self) -> None:
        """Stop what is still being extracted or verified and wait for it; idempotent."""
        if self.stop is not None:
            self.stop.set()
        if self.pending is not None:
            with contextlib.suppress(Exception):
                self.pending.exception()

    @property
    def host(self) -> str:
        """The host the bundle was captured on."""
        return str(self.manifest.get("host") or "bundle")

    @property
    def investigation(self) -> Path | None:
        """The bundle's investigation store, when it carries one."""
        entry = self.manifest.get("investigation")
        if not isinstance(entry, dict) or not isinstance(entry.get("store"), str):
            return None
        path = self.root / entry["store"]
        return path if path.is_file() else None

    @property
    def time_span(self) -> tuple[float | None, float | None]:
        """First and last recorded times."""
        span = self.manifest.get("time_span") or {}
        return span.get("start"), span.get("end")


def is_archive(path: Path) -> bool:
    """True for the archive names a bundle or a sosreport comes as."""
    return path.name.endswith((".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar"))


def extract(
    archive: Path,
    target: Path,
    on_member: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> list[str]:
    """Unpack ``archive`` safely (sources/archive.py) into ``target``; the problems that left
    part of it out (a truncated archive, skipped members). BundleError when it is refused.
    ``on_member`` and ``stop`` are safe_extract's."""
    from opsconsole.sources.archive import ArchiveRefused, safe_extract

    try:
        report = safe_extract(archive, target, on_member=on_member, stop=stop)
    except ArchiveRefused as error:
        raise BundleError(f"{archive.name}: refused: {error}") from None
    except OSError as error:
        raise BundleError(f"{archive.name}: cannot unpack: {error.strerror or error}") from None
    problems = [f"{archive.name}: member {s.name}: skipped, {s.reason}" for s in report.skipped]
    if report.error is not None:
        problems.append(f"{archive.name}: {report.error}; what came before it still opens")
    return problems


def bundle_root(directory: Path) -> Path:
    """The directory holding the manifest: ``directory`` or its single top-level folder."""
    if (directory / MANIFEST).is_file():
        return directory
    children = [child for child in directory.iterdir() if child.is_dir()]
    if len(children) == 1 and (children[0] / MANIFEST).is_file():
        return children[0]
    return directory


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest, checked for a version this opsconsole reads."""
    path = root / MANIFEST
    try:
        _regular(path)
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BundleError(f"{root.name}: not a bundle (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise BundleError(f"{MANIFEST}: unreadable ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST}: not an opsconsole bundle manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"{MANIFEST}: bad format_version {version!r}")
    reader = _READERS.get(version)
    if reader is None:
        raise FutureBundleError(
            f"bundle format version {version} was written by opsconsole"
            f" {manifest.get('tool_version', '?')}; this opsconsole ({__version__}) reads"
            f" versions up to {max(_READERS)}: upgrade opsconsole to open it"
        )
    return reader(manifest)


def _read_v1(manifest: dict[str, Any]) -> dict[str, Any]:
    """Version 1 as is. A version 2 reader gets its own function and this one stays, so
    bundles of version 1 keep opening."""
    for key, kind in (("files", dict), ("event_counts", dict), ("sources", list)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{MANIFEST}: {key} missing or not a {kind.__name__}")
    return manifest


_READERS: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _read_v1}


def verify(
    root: Path, manifest: Mapping[str, Any], stop: threading.Event | None = None
) -> list[str]:
    """Problems of the files against the manifest: missing, altered (sha256), unlisted.
    ExtractionStopped once ``stop`` is set (the bundle is being closed)."""
    problems: list[str] = []
    files: Mapping[str, Any] = manifest["files"]
    for name, entry in sorted(files.items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if sha256_file(path, stop) != expected:
            problems.append(f"{name}: sha256 mismatch (altered or damaged)")
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and name != MANIFEST and name not in files:
            problems.append(f"{name}: not listed in the manifest")
    return problems


def open_bundle(path: Path, workdir: Path | None = None, *, check: bool = True) -> Bundle:
    """Open a bundle directory or archive (unpacked into ``workdir`` or a new temporary
    directory). Raises BundleError when it cannot open at all; damage that leaves the rest
    readable is in ``Bundle.problems`` (the checksums not verified when not ``check``)."""
    problems: list[str] = []
    if path.is_dir():
        directory = path
    elif path.is_file() and is_archive(path):
        directory = workdir or Path(tempfile.mkdtemp(prefix="opsconsole-bundle-"))
        problems += extract(path, directory)
    elif not path.exists():
        raise BundleError(f"{path}: no such file or directory")
    else:
        raise BundleError(f"{path.name}: not a bundle directory or a .tar.gz/.tar.zst archive")
    return _opened(path, directory, problems, check=check)


def _opened(path: Path, directory: Path, problems: list[str], *, check: bool) -> Bundle:
    """The bundle in ``directory`` (``path`` itself, or where it was extracted)."""
    root = bundle_root(directory)
    try:
        manifest = read_manifest(root)
    except FutureBundleError:
        raise
    except BundleError as error:
        if directory is path:
            raise
        # Named by the archive, not the temporary directory, with what broke on the way.
        message = str(error).replace(f"{root.name}: ", "", 1)
        raise BundleError("; ".join([f"{path.name}: {message}", *problems])) from None
    if (root / EVENTS).exists():
        _regular(root / EVENTS)
    if check:
        problems += verify(root, manifest)
    return Bundle(root, manifest, problems)


def _regular(path: Path) -> None:
    """BundleError unless ``path`` (when it exists) is a regular file: a fifo or a device in a
    bundle directory, opened in place, would block its reader for good."""
    if path.exists() and not path.is_file():
        raise BundleError(f"{path.name}: not a regular file")


class GrowingFile(PosixPath):
    """A file an extraction is still writing: read through ``open``, a line waits at the end
    of what is written until more comes or ``done`` is set (the extraction ended)."""

    done: threading.Event

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """The file, read as it grows (binary reading only; else a plain open)."""
        raw = super().open(mode, *args, **kwargs)
        return raw if mode != "rb" or self.done.is_set() else _Tail(raw, self.done)


class _Tail:
    """``readline`` over a growing file: never a partial last line while the writer goes on."""

    WAIT = 0.02

    def __init__(self, raw: IO[bytes], done: threading.Event) -> None:
        self.raw = raw
        self.done = done

    def __enter__(self) -> _Tail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()

    def readline(self, size: int = -1) -> bytes:
        line = self.raw.readline(size)
        while not line.endswith(b"\n") and (size < 0 or len(line) < size):
            finished = self.done.is_set()  # read before the last look: nothing comes after it
            more = self.raw.readline(size - len(line) if size >= 0 else -1)
            line += more
            if finished:
                break
            if not more:
                self.done.wait(self.WAIT)
        return line


def open_streaming(path: Path, workdir: Path) -> Bundle:
    """Open a bundle for the console without waiting for all of it.

    A directory opens at once; its checksums are verified in a thread (``Bundle.pending``).
    An archive extracts in a thread; this returns once its manifest, investigation and the
    start of its event stream are out (what the first screen needs: ``pack`` puts them first),
    with ``Bundle.events`` following the stream as it is written. An archive from before that
    order opens when it is all out. Every member passes every check of sources/archive.py.
    BundleError when it cannot open at all.
    """
    if not (path.is_file() and is_archive(path)):
        bundle = open_bundle(path, workdir, check=False)
        bundle.stop = threading.Event()
        bundle.pending = _in_thread(lambda: verify(bundle.root, bundle.manifest, bundle.stop))
        return bundle
    out: set[str] = set()
    manifests: list[str] = []
    arrived = threading.Condition()
    stop, done = threading.Event(), threading.Event()

    def on_member(rel: str) -> None:
        with arrived:
            out.add(rel)
            if _is_manifest(rel):
                manifests.append(rel)
            arrived.notify_all()

    def rest() -> list[str]:
        try:
            problems = extract(path, workdir, on_member, stop)
            root = bundle_root(workdir)
            try:
                manifest = read_manifest(root)
            except BundleError:
                return problems  # told by the opening, named by the archive
            return problems + verify(root, manifest, stop)
        finally:
            done.set()
            with arrived:
                arrived.notify_all()

    pending = _in_thread(rest)

    def wait_for(found: Callable[[], str | None]) -> str | None:
        with arrived:
            arrived.wait_for(lambda: found() is not None or done.is_set())
            return found()

    manifest_member = wait_for(lambda: manifests[0] if manifests else None)
    if manifest_member is None:  # the archive ended (or broke) without one: say what is wrong
        return _opened(path, workdir, pending.result(), check=False)
    root = workdir.joinpath(*manifest_member.split("/")[:-1])
    try:
        manifest = read_manifest(root)
    except BundleError:
        stop.set()
        pending.exception()
        raise
    prefix = root.relative_to(workdir).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    store = (manifest.get("investigation") or {}).get("store")
    if isinstance(store, str):
        wait_for(lambda: store if prefix + store in out else None)
    # The stream's file exists once its member has begun: no member is out to tell, so look.
    while not ((root / EVENTS).exists() or done.wait(0.005)):
        pass
    stream = GrowingFile(root / EVENTS)
    stream.done = done
    return Bundle(root, manifest, [], pending=pending, stream=stream, stop=stop)


def _is_manifest(member: str) -> bool:
    parts = member.split("/")
    return parts[-1] == MANIFEST and len(parts) <= 2


def _in_thread(work: Callable[[], list[str]]) -> Future[list[str]]:
    """``work`` in a daemon thread; its future."""
    future: Future[list[str]] = Future()

    # Running, it can no longer be cancelled: whoever waits may stop waiting, and close()
    # still waits for the thread to be done with the files.
    future.set_running_or_notify_cancel()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever waits on the future
            future.set_exception(error)

    threading.Thread(target=run, name="opsconsole-bundle", daemon=True).start()
    return future


def check_bundle(path: Path) -> list[str]:
    """Every problem of the bundle at ``path`` (none: it is sound): shape, version,
    checksums, and events that do not decode."""
    from opsconsole.sources.events import EventDecodeError, decode

    with tempfile.TemporaryDirectory(prefix="opsconsole-check-") as work:
        try:
            bundle = open_bundle(path, Path(work))
        except BundleError as error:
            return [str(error)]
        problems = list(bundle.problems)
        with contextlib.suppress(FileNotFoundError), bundle.events.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    decode(line)
                except EventDecodeError as error:
                    problems.append(f"{EVENTS}:{number}: not a valid event ({error})")
                    if len(problems) > 100:
                        problems.append(f"{EVENTS}: more bad lines not listed")
                        break
        return problems
