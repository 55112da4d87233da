"""A sosreport as events: the static outputs sos collected, stamped with the report's time.

A sosreport (directory or ``.tar.xz``/``.tar.gz``/``.tar`` archive, read through
``archive.safe_extract``) becomes: ``HostFacts`` and a ``HostSample`` (uname, hostname, uptime,
free, df), a ``ProcessTable`` (ps), one ``ContainerList`` per engine (podman and docker ps and
inspect), ``LogLines`` (container logs where collected, var/log files and journal exports, each
read from its end and bounded) and a ``SosReportInfo`` (sos's own manifest: commands run, timed
out, truncated; and every problem met reading the report).

Real reports are damaged in small ways: missing files, dangling symlinks, manifest entries with
no file. Each is one line in ``SosReportInfo.problems``; none stops the rest. Nothing is read
outside the report: a link that leaves it is a problem, not a path to follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import msgspec

from opsconsole.sources.archive import (
    DEFAULT_LIMITS,
    ArchiveRefused,
    ExtractionStopped,
    Limits,
    peek_names,
    safe_extract,
)
from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.engine import clean_labels, enrich, parse_time, project_of
from opsconsole.sources.events import (
    ContainerInfo,
    ContainerList,
    DiskUsage,
    Event,
    HostFacts,
    HostSample,
    LogLine,
    LogLines,
    ProcessRow,
    ProcessTable,
    SosCommand,
    SosReportInfo,
)
from opsconsole.sources.text import safe_text

MARKERS = ("sos_commands", "sos_reports/manifest.json", "version.txt", "sos_logs")
"""Any of these at the top of a directory makes it a sosreport."""
MAX_FILE_BYTES = 16 * 1024 * 1024
"""A command output or manifest larger than this is read only this far."""
MAX_LOG_BYTES = 4 * 1024 * 1024
"""Each log is read from its end, this far back."""
MAX_LOG_TOTAL = 256 * 1024 * 1024
"""Bytes of logs read from one report in all."""
MAX_PROCESS_ROWS = 1000
MAX_PROBLEMS = 500
LOG_BATCH = 2000
"""Lines per LogLines event."""
_COMPRESSED = (".gz", ".xz", ".bz2", ".zst", ".lz4", ".zip")


def find_root(path: Path) -> Path | None:
    """The report's top directory: ``path`` or its single subdirectory holding the markers."""
    if not path.is_dir():
        return None
    if _has_markers(path):
        return path
    with contextlib.suppress(OSError):
        subdirs = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
        if len(subdirs) == 1 and _has_markers(subdirs[0]):
            return subdirs[0]
    return None


def _has_markers(path: Path) -> bool:
    return any(os.path.lexists(path / marker) for marker in MARKERS)


def is_sosreport(path: Path) -> bool:
    """Whether ``path`` (directory or archive) looks like a sosreport; reads only tar headers."""
    if path.is_dir():
        return find_root(path) is not None
    names = peek_names(path, limit=20_000, enough=lambda name: _kind(name) is not None)
    return bool(names) and _kind(names[-1]) == "sosreport"


def _kind(name: str) -> str | None:
    """``sosreport`` or ``bundle`` when a member's name tells what the archive is."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) > 2:
        return None
    if parts[-1:] in (["version.txt"], ["sos_commands"], ["sos_reports"]):
        return "sosreport"
    if parts[-1:] in (["manifest.json"], ["events.jsonl"]):
        return "bundle"  # an opsconsole bundle: manifest.json is sos_reports/manifest.json there
    return None


class _Report:
    """Reads the files of one extracted report, never outside it, noting every problem."""

    def __init__(self, root: Path, problems: list[str] | None = None) -> None:
        self.root = root
        self.real = root.resolve()
        self.problems: list[str] = problems if problems is not None else []
        self.log_budget = MAX_LOG_TOTAL

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("more problems not listed")

    def path(self, rel: str) -> Path | None:
        """The real path of ``rel`` when it is a readable file inside the report."""
        path = self.root / rel
        if not os.path.lexists(path):
            return None
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self.problem(f"{rel}: dangling symlink to {_link_text(path)}")
            return None
        if not real.is_relative_to(self.real):
            self.problem(f"{rel}: link to {_link_text(path)} leaves the report, not read")
            return None
        return real if real.is_file() else None

    def read(self, rel: str, limit: int = MAX_FILE_BYTES) -> str | None:
        """The text of ``rel`` (its first ``limit`` bytes), or None when absent or unreadable."""
        path = self.path(rel)
        if path is None:
            return None
        try:
            with path.open("rb") as fh:
                return fh.read(limit).decode("utf-8", "replace")
        except OSError as exc:
            self.problem(f"{rel}: unreadable ({exc.strerror or exc})")
            return None

    def first(self, *candidates: str) -> tuple[str, str] | None:
        """The first of ``candidates`` (names or globs) that can be read: (name, text)."""
        for candidate in candidates:
            names = (
                sorted(str(p.relative_to(self.root)) for p in self.root.glob(candidate))
                if "*" in candidate
                else [candidate]
            )
            for name in names:
                if (text := self.read(name)) is not None:
                    return name, text
        return None

    def tail(self, rel: str) -> tuple[list[str], int] | None:
        """The last lines of a text log (within both budgets) and how many lines came before."""
        path = self.path(rel)
        if path is None or self.log_budget <= 0:
            return None
        try:
            with path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(0, size - min(MAX_LOG_BYTES, self.log_budget))
                fh.seek(start)
                data = fh.read()
                if b"\x00" in data[:8192]:
                    return None  # binary: wtmp, lastlog, journal files
                before = _count_lines(fh, start) if start else 0
        except OSError as exc:
            self.problem(f"{rel}: unreadable ({exc.strerror or exc})")
            return None
        self.log_budget -= len(data)
        lines = data.decode("utf-8", "replace").splitlines()
        if start and lines:
            lines, before = lines[1:], before + 1  # the first line was cut
        return lines, before


def _count_lines(fh: Any, end: int) -> int:
    """Newlines in the first ``end`` bytes of ``fh``, read in chunks."""
    fh.seek(0)
    count, left = 0, end
    while left > 0 and (chunk := fh.read(min(left, 1 << 20))):
        count += chunk.count(b"\n")
        left -= len(chunk)
    return count


def _link_text(path: Path) -> str:
    try:
        return repr(str(path.readlink()))
    except OSError:
        return "a missing file"


# --- the manifest and the report's time ---------------------------------------------------


class _Manifest:
    """What sos recorded in sos_reports/manifest.json, read defensively."""

    def __init__(self, report: _Report) -> None:
        self.doc: dict[str, Any] = {}
        text = report.read("sos_reports/manifest.json")
        if text is None:
            if os.path.lexists(report.root / "sos_commands"):
                report.problem("sos_reports/manifest.json: missing (sos before 4.0, or damaged)")
            return
        try:
            doc = json.loads(text)
        except ValueError as exc:
            report.problem(f"sos_reports/manifest.json: not valid JSON ({exc})")
            return
        if isinstance(doc, dict):
            self.doc = doc

    def plugins(self) -> dict[str, dict[str, Any]]:
        report = _dict(_dict(self.doc.get("components")).get("report"))
        return {k: v for k, v in _dict(report.get("plugins")).items() if isinstance(v, dict)}

    def commands(self, report: _Report) -> list[SosCommand]:
        commands: list[SosCommand] = []
        for plugin, doc in self.plugins().items():
            plugin_timeout = bool(doc.get("timeout_hit"))
            for item in _list(doc.get("commands")):
                if isinstance(item, dict):
                    commands.append(_command(report, plugin, item, plugin_timeout))
            for item in _list(doc.get("files")):
                for copied in _list(_dict(item).get("files_copied")):
                    if isinstance(copied, str) and not os.path.lexists(report.root / copied):
                        report.problem(f"{copied}: listed by plugin {plugin}, no such file")
        return commands

    def end_time(self) -> float | None:
        """The latest epoch time a command recorded: the report's time, in UTC."""
        ends = [
            t
            for plugin in self.plugins().values()
            for item in _list(plugin.get("commands"))
            if isinstance(t := _dict(item).get("end_time"), int | float) and t > 0
        ]
        return max(ends) if ends else None


def _command(report: _Report, plugin: str, item: Mapping[str, Any], timeout: bool) -> SosCommand:
    filepath = item.get("filepath")
    filepath = filepath if isinstance(filepath, str) and filepath else None
    missing = filepath is not None and not os.path.lexists(report.root / filepath)
    command = str(item.get("exec") or item.get("command") or "?")
    if missing:
        report.problem(f"{filepath}: the manifest lists it for {command!r}, no such file")
    code = item.get("return_code")
    run_time = item.get("run_time")
    return SosCommand(
        plugin=plugin,
        command=command,
        filepath=filepath,
        return_code=code if isinstance(code, int) else None,
        run_time=float(run_time) if isinstance(run_time, int | float) else None,
        truncated=bool(item.get("truncated")),
        timed_out=code == 124 or timeout,
        missing=missing,
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _report_time(report: _Report, manifest: _Manifest) -> float:
    """When the report was taken: the manifest's command times, else its date, else file times."""
    if (end := manifest.end_time()) is not None:
        return end
    text = manifest.doc.get("end_time")
    if isinstance(text, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text).timestamp()
    for rel in ("sos_reports/manifest.json", "version.txt", "sos_logs/sos.log"):
        with contextlib.suppress(OSError):
            return (report.root / rel).stat().st_mtime
    return time.time()


# --- host facts ---------------------------------------------------------------------------

_UPTIME = re.compile(r"up\s+(?:(\d+)\s+days?,?\s*)?(?:(\d+):(\d+)|(\d+)\s+min)?")
_LOAD = re.compile(r"load averages?:\s*([\d.]+),?\s+([\d.]+),?\s+([\d.]+)")
_KIB = 1024


def _host_name(report: _Report, uname: str | None, name: str) -> str:
    found = report.first("hostname", "sos_commands/host/hostname", "etc/hostname")
    if found and (line := found[1].strip().splitlines()):
        return safe_text(line[0].strip())
    if uname and len(fields := uname.split()) > 1:
        return safe_text(fields[1])
    match = re.match(r"sosreport-([^-.]+)", name)
    return match.group(1) if match else "sosreport"


def _uptime(report: _Report) -> tuple[float | None, tuple[float, float, float] | None]:
    seconds: float | None = None
    load: tuple[float, float, float] | None = None
    if (proc := report.read("proc/uptime")) and proc.split():
        with contextlib.suppress(ValueError):
            seconds = float(proc.split()[0])
    found = report.first("uptime", "sos_commands/host/uptime")
    text = found[1] if found else ""
    if seconds is None and (m := _UPTIME.search(text)) and any(m.groups()):
        days, hours, minutes, only_minutes = (int(g) if g else 0 for g in m.groups())
        seconds = float(days * 86400 + hours * 3600 + (minutes or only_minutes) * 60)
    if (m := _LOAD.search(text)) is None and (avg := report.read("proc/loadavg")):
        m = re.match(r"\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)", avg)
    if m is not None:
        load = (float(m.group(1)), float(m.group(2)), float(m.group(3)))
    return seconds, load


def _memory(report: _Report) -> dict[str, Any]:
    """mem_* and swap_* figures of HostSample, from free (KiB) or else /proc/meminfo."""
    figures: dict[str, Any] = {}
    found = report.first("free", "sos_commands/memory/free")
    for line in found[1].splitlines() if found else ():
        head, _, rest = line.partition(":")
        values = [int(v) * _KIB for v in rest.split() if v.isdigit()]
        if head.strip() == "Mem" and len(values) >= 2:
            available = values[5] if len(values) >= 6 else None
            figures.update(mem_total=values[0], mem_used=values[1], mem_available=available)
        elif head.strip() == "Swap" and len(values) >= 2:
            figures.update(swap_total=values[0], swap_used=values[1])
    if "mem_total" not in figures and (info := report.read("proc/meminfo")):
        kib = {
            k.strip(): int(v.split()[0]) * _KIB
            for k, _, v in (line.partition(":") for line in info.splitlines())
            if v.split() and v.split()[0].isdigit()
        }
        if "MemTotal" in kib:
            available = kib.get("MemAvailable")
            figures.update(
                mem_total=kib["MemTotal"],
                mem_available=available,
                mem_used=kib["MemTotal"] - (available if available is not None else 0),
            )
        if "SwapTotal" in kib:
            figures.update(
                swap_total=kib["SwapTotal"], swap_used=kib["SwapTotal"] - kib.get("SwapFree", 0)
            )
    total, available = figures.get("mem_total"), figures.get("mem_available")
    if total:
        used = total - available if available is not None else figures.get("mem_used", 0)
        figures["mem_percent"] = round(100.0 * used / total, 1)
    if figures.get("swap_total"):
        figures["swap_percent"] = round(100.0 * figures["swap_used"] / figures["swap_total"], 1)
    return figures


def _fstypes(report: _Report) -> dict[str, str]:
    """Mount point -> filesystem type, from proc/mounts or the mount command."""
    types: dict[str, str] = {}
    if text := report.read("proc/mounts"):
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 3:
                types[fields[1]] = fields[2]
    elif found := report.first("mount", "sos_commands/filesys/mount_-l"):
        for line in found[1].splitlines():
            if m := re.match(r"\S+ on (.+) type (\S+)", line):
                types[m.group(1)] = m.group(2)
    return types


def parse_df(text: str, fstypes: Mapping[str, str] | None = None) -> list[DiskUsage]:
    """``df -al`` output (1K blocks) as disks; pseudo filesystems (no blocks) are left out."""
    disks: list[DiskUsage] = []
    pending = ""
    for line in text.splitlines()[1:]:
        fields = (pending + " " + line).split() if pending else line.split()
        if len(fields) == 1:  # a long device name wraps the rest onto the next line
            pending = fields[0]
            continue
        pending = ""
        if len(fields) < 6 or not all(f.isdigit() for f in fields[1:4]):
            continue
        total, used, free = (int(f) * _KIB for f in fields[1:4])
        if total == 0:
            continue
        mount = safe_text(" ".join(fields[5:]))
        disks.append(
            DiskUsage(
                mount=mount,
                device=safe_text(fields[0]),
                fstype=(fstypes or {}).get(mount, ""),
                total=total,
                used=used,
                free=free,
                percent=round(100.0 * used / (used + free), 1) if used + free else 0.0,
            )
        )
    return disks


def _cpu_count(report: _Report) -> int | None:
    text = report.read("proc/cpuinfo")
    count = sum(1 for line in (text or "").splitlines() if line.startswith("processor"))
    return count or None


# --- processes ----------------------------------------------------------------------------

_TREE_ART = re.compile(r"^[\s|\\_]+(?=\S)")


def parse_ps(text: str, *, forest: bool = False) -> tuple[list[ProcessRow], int]:
    """``ps aux`` output (with ``m`` thread lines or ``f`` tree art) as rows, and the total."""
    rows: list[ProcessRow] = []
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None:
            rows.append(ProcessRow(**current))

    for line in text.splitlines()[1:]:
        fields = line.split(None, 10)
        if len(fields) < 10:
            continue
        if fields[1] == "-":  # a thread line of `ps m`: it carries the state
            if current is not None:
                current["threads"] = (current["threads"] or 0) + 1
                if current["state"] == "-":
                    current["state"] = fields[7][:1]
            continue
        if not fields[1].isdigit():
            continue
        flush()
        command = fields[10] if len(fields) > 10 else ""
        if forest:
            command = _TREE_ART.sub("", command)
        command = safe_text(command)[:4096]
        kernel = command.startswith("[") and command.endswith("]")
        first = command.split(" ", 1)[0]
        current = {
            "pid": int(fields[1]),
            "user": safe_text(fields[0]),
            "name": command.strip("[]") if kernel else first.rsplit("/", 1)[-1].rstrip(":") or "?",
            "command": "" if kernel else command,
            "state": fields[7][:1] if fields[7] != "-" else "-",
            "cpu_percent": _float(fields[2]) or 0.0,
            "rss": int(fields[5]) * _KIB if fields[5].isdigit() else 0,
            "mem_percent": _float(fields[3]),
            "threads": None,
        }
    flush()
    rows = [r if r.state != "-" else msgspec.structs.replace(r, state="?") for r in rows]
    total = len(rows)
    rows.sort(key=lambda r: (r.cpu_percent, r.rss), reverse=True)
    return rows[:MAX_PROCESS_ROWS], total


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# --- containers ---------------------------------------------------------------------------


def parse_table(text: str) -> list[dict[str, str]]:
    """A CLI table (``podman ps``, ``docker ps``) as dicts, cut at the header's column starts."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    columns = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, (start, name) in enumerate(columns):
            end = columns[i + 1][0] if i + 1 < len(columns) else len(line)
            row[name] = line[start:end].strip()
        rows.append(row)
    return rows


def _state_of(status: str) -> tuple[str, int | None]:
    """The state and exit code in a ps STATUS such as ``Exited (137) 18 hours ago``."""
    lower = status.lower()
    if lower.startswith("up"):
        return ("paused" if "paused" in lower else "running"), None
    if m := re.match(r"exited \((-?\d+)\)", lower):
        return "exited", int(m.group(1))
    for word in ("created", "restarting", "dead", "removal", "stopped", "paused"):
        if lower.startswith(word):
            return ("removing" if word == "removal" else word), None
    return "unknown", None


def _from_inspect(
    engine: str, runtime: Any, doc: Mapping[str, Any], owner: str = ""
) -> ContainerInfo:
    state = _dict(doc.get("State"))
    config = _dict(doc.get("Config"))
    labels = clean_labels(config.get("Labels"))
    status = str(state.get("Status") or "unknown").lower()
    info = ContainerInfo(
        engine=engine,
        runtime=runtime,
        id=str(doc.get("Id") or "?"),
        name=owner + safe_text(str(doc.get("Name") or "?").lstrip("/")),
        image=str(doc.get("ImageName") or config.get("Image") or doc.get("Image") or "?"),
        state="created" if status == "configured" else status,
        created=parse_time(doc.get("Created")),
        labels=labels,
        project=project_of(labels),
        pod=str(doc.get("Pod") or "")[:12] or None,
    )
    return enrich(info, doc)


def _containers(
    report: _Report, runtime: Any, ts: float, host: str, user: str | None = None
) -> list[Event]:
    """The ContainerList and container LogLines of one engine, when the report has them.

    ``user``: a rootless user's podman (``sos_commands/podman/users/<user>/``, written with
    ``-k podman.allusers``), an engine of its own whose containers are named ``<user>/<name>``
    so that whose they are shows in every list.
    """
    base = f"sos_commands/{runtime}" + (f"/users/{user}" if user else "")
    pattern = glob.escape(base)  # a user's name is the archive's: never a pattern itself
    engine = f"sosreport:{runtime}" + (f":{user}" if user else "")
    owner = f"{safe_text(user)}/" if user else ""
    inspects: list[dict[str, Any]] = []
    for name in _globbed(
        report, f"{pattern}/containers/{runtime}_inspect_*", f"{pattern}/{runtime}_inspect_*"
    ):
        text = report.read(name)
        try:
            doc = json.loads(text) if text is not None else None
        except ValueError:
            report.problem(f"{name}: not valid JSON")
            continue
        doc = doc[0] if isinstance(doc, list) and doc else doc
        if isinstance(doc, dict) and "State" in doc:  # image inspects have no State
            inspects.append(doc)
    found = report.first(
        f"{base}/{runtime}_ps_-a", f"{base}/{runtime}_ps_-as", f"{base}/{runtime}_ps"
    )
    if found is None and not inspects:
        return []
    by_id = {str(d.get("Id", "")): d for d in inspects}
    containers: list[ContainerInfo] = []
    for row in parse_table(found[1]) if found else []:
        cid = row.get("CONTAINER ID", "")
        if not cid:
            continue
        status = row.get("STATUS", "")
        state, code = _state_of(status)
        info = ContainerInfo(
            engine=engine,
            runtime=runtime,
            id=cid,
            name=owner + (safe_text(row.get("NAMES", "").split(",")[0]) or cid[:12]),
            image=safe_text(row.get("IMAGE", "")),
            state=state,
            status=safe_text(status),
            exit_code=code,
            ports=safe_text(row.get("PORTS", "")),
        )
        doc = next((d for i, d in by_id.items() if i and i.startswith(cid)), None)
        if doc is not None:
            del by_id[str(doc.get("Id", ""))]
            full = _from_inspect(engine, runtime, doc, owner)
            info = enrich(msgspec.structs.replace(info, id=full.id, labels=full.labels), doc)
            info = msgspec.structs.replace(
                info, created=full.created, project=full.project, pod=full.pod
            )
        containers.append(info)
    containers.extend(_from_inspect(engine, runtime, d, owner) for d in by_id.values())
    events: list[Event] = [
        ContainerList(ts=ts, host=host, source=engine, engine=engine, containers=tuple(containers))
    ]
    names = {c.id: c.name for c in containers}
    for rel in _globbed(report, f"{pattern}/containers/{runtime}_logs_*"):
        key = re.sub(rf"^{runtime}_logs_(?:-t_)?", "", Path(rel).name)
        name = next(
            (n for i, n in names.items() if i.startswith(key) or n == owner + key), owner + key
        )
        events.extend(
            _log_events(report, rel, f"container:{runtime}:{name}", ts, host, engine, True)
        )
    return events


MAX_USERS = 200
"""Rootless users read from one report."""


def _rootless_users(report: _Report) -> list[str]:
    """The users whose rootless podman sos collected (real directories in the report only)."""
    users = report.root / "sos_commands" / "podman" / "users"
    try:
        with os.scandir(users) as entries:
            names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    if len(names) > MAX_USERS:
        report.problem(f"{users.relative_to(report.root)}: {len(names)} users; read {MAX_USERS}")
    return names[:MAX_USERS]


def _globbed(report: _Report, *patterns: str) -> list[str]:
    seen: dict[str, None] = {}
    for pattern in patterns:
        for path in sorted(report.root.glob(pattern)):
            seen.setdefault(str(path.relative_to(report.root)), None)
    return list(seen)


# --- logs ---------------------------------------------------------------------------------


def _log_events(
    report: _Report, rel: str, stream: str, ts: float, host: str, source: str, stamped: bool
) -> Iterator[LogLines]:
    """One log's last lines in batches; ``stamped`` lines start with an RFC 3339 time."""
    tail = report.tail(rel)
    if tail is None:
        return
    lines, before = tail
    for start in range(0, len(lines), LOG_BATCH):
        batch = tuple(_log_line(text, stamped) for text in lines[start : start + LOG_BATCH])
        yield LogLines(
            ts=ts,
            host=host,
            source=source,
            stream=stream,
            lines=batch,
            dropped=before if start == 0 else 0,
        )


def _log_line(text: str, stamped: bool) -> LogLine:
    if stamped:
        stamp, _, rest = text.partition(" ")
        if (when := parse_time(stamp)) is not None:
            return LogLine(text=rest, ts=when)
    return LogLine(text=text)


def _log_files(report: _Report) -> list[tuple[str, str]]:
    """(relative path, stream id) of the text logs: var/log and journal exports."""
    logs: list[tuple[str, str]] = []
    var_log = report.root / "var" / "log"
    for dirpath, dirnames, filenames in os.walk(var_log):
        dirnames[:] = sorted(d for d in dirnames if d != "journal")
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            rel = str(path.relative_to(report.root))
            if filename.endswith(_COMPRESSED):
                continue
            logs.append((rel, f"file:/{rel}"))
    for rel in _globbed(report, "sos_commands/logs/journalctl_*", "sos_commands/*/journalctl_*"):
        logs.append((rel, f"journal:{Path(rel).name}"))
    return logs


def _dangling(report: _Report) -> None:
    """Note every symlink in the report that leads nowhere or outside it."""
    for dirpath, dirnames, filenames in os.walk(report.root):
        for name in [*filenames, *dirnames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                report.path(str(path.relative_to(report.root)))


# --- the whole report ---------------------------------------------------------------------


class SosReading:
    """One report read: the static events at once, the logs as a lazy stream of batches.

    ``first_screen``: only the host facts, host sample and process table, from a report still
    being extracted (its problems are not kept: files may just not be there yet).
    """

    def __init__(
        self,
        root: Path,
        *,
        name: str,
        problems: list[str] | None = None,
        first_screen: bool = False,
    ) -> None:
        self.report = _Report(root, problems)
        self.name = name
        manifest = _Manifest(self.report)
        self.ts = _report_time(self.report, manifest)
        uname = self.report.first("uname", "sos_commands/kernel/uname_-a")
        kernel = safe_text(uname[1].strip()) if uname else None
        self.host = _host_name(self.report, kernel, name)
        self.source = f"sosreport:{name}"
        self.logs: list[tuple[str, str]] = []
        if first_screen:
            self.static: list[Event] = [*self._host(kernel), *self._processes()]
            return
        _dangling(self.report)
        commands = manifest.commands(self.report)
        self.logs = _log_files(self.report)
        self.static = [*self._host(kernel), *self._processes()]
        for runtime in ("podman", "docker"):
            self.static.extend(_containers(self.report, runtime, self.ts, self.host))
        for user in _rootless_users(self.report):
            self.static.extend(_containers(self.report, "podman", self.ts, self.host, user))
        version = self.report.read("version.txt")
        self.static.append(
            SosReportInfo(
                ts=self.ts,
                host=self.host,
                source=self.source,
                name=name,
                version=str(manifest.doc.get("version") or _after_colon(version) or "") or None,
                cmdline=_str(manifest.doc.get("cmdline")),
                policy=_str(manifest.doc.get("policy")),
                start=_str(manifest.doc.get("start_time")),
                end=_str(manifest.doc.get("end_time")),
                plugins=tuple(manifest.plugins()),
                commands=tuple(commands),
                problems=tuple(self.report.problems),
            )
        )

    def _host(self, kernel: str | None) -> list[Event]:
        uptime, load = _uptime(self.report)
        os_release = self.report.read("etc/os-release") or ""
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', os_release, re.M)
        df = self.report.first(
            "df", "sos_commands/filesys/df_-al_-x_autofs", "sos_commands/filesys/df_-al*"
        )
        return [
            HostFacts(
                ts=self.ts,
                host=self.host,
                source=self.source,
                hostname=self.host,
                kernel=kernel,
                os=safe_text(pretty.group(1)) if pretty else None,
                uptime=uptime,
            ),
            HostSample(
                ts=self.ts,
                host=self.host,
                source=self.source,
                boot_time=self.ts - uptime if uptime is not None else None,
                cpu_count=_cpu_count(self.report),
                load=load,
                disks=tuple(parse_df(df[1], _fstypes(self.report))) if df else (),
                **_memory(self.report),
            ),
        ]

    def _processes(self) -> list[Event]:
        found = self.report.first(
            "ps",
            "sos_commands/process/ps_auxwwwm",
            "sos_commands/process/ps_auxwww",
            "sos_commands/process/ps_auxfwww",
        )
        if found is None:
            return []
        rows, total = parse_ps(found[1], forest="f" in found[0].rsplit("_", 1)[-1])
        running = sum(1 for r in rows if r.state == "R")
        return [
            ProcessTable(
                ts=self.ts,
                host=self.host,
                source=self.source,
                rows=tuple(rows),
                total=total,
                running=running,
            )
        ]

    def log_events(self) -> Iterator[list[LogLines]]:
        """The logs' events, one list per log file."""
        for rel, stream in self.logs:
            yield list(
                _log_events(self.report, rel, stream, self.ts, self.host, self.source, False)
            )


def _str(value: object) -> str | None:
    return safe_text(value) if isinstance(value, str) and value else None


def _after_colon(text: str | None) -> str | None:
    return text.partition(":")[2].strip() or None if text else None


def report_name(path: Path) -> str:
    """The report's name: the archive's or directory's name without its suffixes."""
    name = path.name
    for suffix in (".tar.xz", ".tar.gz", ".tar.zst", ".tar.bz2", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _open_report(
    path: Path,
    workdir: Path,
    limits: Limits,
    progress: Callable[[int, int], None] | None = None,
    on_member: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[Path, list[str]]:
    """The report's root directory (extracting an archive into ``workdir``) and the problems."""
    extract = safe_extract(path, workdir, limits, progress, on_member, stop)
    problems = [f"{s.name}: skipped, {s.reason}" for s in extract.skipped]
    if extract.error:
        problems.append(extract.error)
    root = find_root(extract.root)
    if root is None:
        raise ArchiveRefused(
            f"{path.name}: not a sosreport "
            "(no sos_commands/, sos_reports/manifest.json or version.txt)"
        )
    return root, problems


FIRST_SCREEN = (
    ("sos_commands/kernel/uname_-a",),
    ("sos_commands/host/hostname", "etc/hostname"),
    ("sos_commands/host/uptime", "proc/uptime"),
    ("sos_commands/memory/free", "proc/meminfo"),
    ("sos_commands/filesys/df_-al*",),
    ("sos_commands/process/ps_aux*",),
    ("sos_reports/manifest.json",),
)
"""What the first screen reads, as groups of alternatives (real files, not sos's top-level
links, whose targets may come later). sos packs its tree sorted, so these come before var/."""


class _FirstScreen:
    """Called with each member as it is extracted (in the extracting thread): ``notify`` once
    every group of FIRST_SCREEN has one."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self.notify = notify
        self.left = list(FIRST_SCREEN)
        self.stop = threading.Event()
        """Set to stop the extraction (the source is closed)."""

    def __call__(self, rel: str) -> None:
        if not self.left:
            return
        inner = rel.partition("/")[2]  # below the report's top directory, when it has one
        self.left = [
            group
            for group in self.left
            if not any(fnmatchcase(inner, p) or fnmatchcase(rel, p) for p in group)
        ]
        if not self.left:
            self.notify()


def check_sosreport(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Every problem of the sosreport at ``path`` (directory or archive); empty when sound."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-sos-check-") as tmp:
        try:
            root, problems = _open_report(path, Path(tmp), limits)
            return list(SosReading(root, name=report_name(path), problems=problems).report.problems)
        except ArchiveRefused as exc:
            return [str(exc)]
        except OSError as exc:
            return [f"{path}: cannot read: {exc.strerror or exc}"]


class SosReportSource:
    """Plays a sosreport: its static events first, then its logs; all at the report's time.

    An archive is extracted (checked member by member) into a temporary directory under
    ``workdir`` (the system's temporary directory by default), removed on ``close``. The first
    screen (host facts and processes) comes as soon as its files are out; the rest of the
    archive extracts meanwhile, in a thread, and the containers, sos's record and the logs
    follow it.
    """

    live = False

    def __init__(
        self,
        path: Path,
        *,
        workdir: Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.path = path
        self.id = f"sosreport:{report_name(path)}"
        self.workdir = workdir
        self.limits = limits
        self.progress = progress
        self.reading: SosReading | None = None
        """The report once read whole: its host, time and problems."""
        self._tmp: Path | None = None
        self._closed = False
        self._early: list[Event] = []
        """The first screen's events, while the archive is still being extracted."""
        self._extraction: asyncio.Future[tuple[Path, list[str]]] | None = None
        self._watch: _FirstScreen | None = None

    async def open(self) -> None:
        """Read a directory's static outputs; extract an archive until its first screen is out
        (or it ends), the rest carrying on in a thread."""
        self._closed = False
        try:
            if self.path.is_dir():
                self.reading = await asyncio.to_thread(self._reading, self.path, [])
                return
            loop = asyncio.get_running_loop()
            ready = asyncio.Event()

            def notify() -> None:
                loop.call_soon_threadsafe(ready.set)

            self._watch = _FirstScreen(notify)
            self._tmp = Path(tempfile.mkdtemp(prefix="opsconsole-sos-", dir=self.workdir))
            self._extraction = asyncio.ensure_future(asyncio.to_thread(self._extract, self._tmp))
            waiting = asyncio.ensure_future(ready.wait())
            await asyncio.wait({self._extraction, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if self._extraction.done():
                root, problems = self._extraction.result()
                self.reading = await asyncio.to_thread(self._reading, root, problems)
            else:
                self._early = await asyncio.to_thread(self._first_screen, self._tmp)
        except ArchiveRefused as exc:
            await self._stop()
            raise SourceUnavailable(str(exc), permanent=True) from None
        except OSError as exc:
            await self._stop()
            raise SourceUnavailable(
                f"cannot read {self.path}: {exc.strerror or exc}", permanent=True
            ) from None

    def _extract(self, target: Path) -> tuple[Path, list[str]]:
        assert self._watch is not None
        watch = self._watch
        return _open_report(self.path, target, self.limits, self.progress, watch, watch.stop)

    def _reading(self, root: Path, problems: list[str]) -> SosReading:
        return SosReading(root, name=report_name(self.path), problems=problems)

    def _first_screen(self, target: Path) -> list[Event]:
        root = find_root(target)
        if root is None:
            return []
        return SosReading(root, name=report_name(self.path), first_screen=True).static

    async def events(self) -> AsyncIterator[Event]:
        """The host and processes, then containers and sos's record, then each log in batches."""
        if self.reading is None and not self._early:
            await self.open()
        for event in self._early:
            yield event
        if self.reading is None:
            assert self._extraction is not None
            try:
                root, problems = await self._extraction
            except ExtractionStopped:
                return  # closed meanwhile
            except ArchiveRefused as exc:  # a bomb further in: what was shown stays
                raise SourceUnavailable(str(exc), permanent=True) from None
            except OSError as exc:
                raise SourceUnavailable(
                    f"cannot read {self.path}: {exc.strerror or exc}", permanent=True
                ) from None
            self.reading = await asyncio.to_thread(self._reading, root, problems)
        for event in self.reading.static:
            if event not in self._early:  # the same facts again: not sent twice
                yield event
        logs = self.reading.log_events()
        while not self._closed:
            batch = await asyncio.to_thread(next, logs, None)
            if batch is None:
                return
            for event in batch:
                yield event

    async def close(self) -> None:
        """Stop (an extraction under way stops at its next member) and remove the extracted
        copy; idempotent."""
        self._closed = True
        await self._stop()

    async def _stop(self) -> None:
        if self._watch is not None:
            self._watch.stop.set()
        if self._extraction is not None:
            with contextlib.suppress(Exception):
                await self._extraction
            self._extraction = None
        await asyncio.to_thread(self._cleanup)

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
