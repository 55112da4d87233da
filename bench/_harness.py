"""Shared machinery of the benchmarks: the programs compared, a private tmux pane, process trees.

Every launch gets its own tmux server (private socket via ``-L``, no user config, status line
off so the program has the whole 160x45), its own XDG directories in a temporary home and the
same locale and TERM, so no program reads or writes the user's configuration and no run sees
another's leftovers. The pane first runs ``sleep``; the program replaces it with
``respawn-pane``, so timing starts with a server that is already up.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PEERS_VENV = BENCH_DIR / ".peers-venv"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_OPSCONSOLE = REPO / ".venv" / "bin" / "opsconsole"

WIDTH, HEIGHT = 160, 45
TERM = "xterm-256color"

LOG_LINES = 5000
LOG_FILE = "app.log"
"""The file toolong opens, written into its temporary home; it tails, so the last line shows."""


def _log_text() -> str:
    return "".join(
        f"2025-01-01T{i // 3600:02}:{i // 60 % 60:02}:{i % 60:02} INFO worker[{i % 7}] "
        f"request {i} served in {i % 97} ms\n"
        for i in range(LOG_LINES)
    )


@dataclass(frozen=True)
class Program:
    """A program to measure.

    ``argv`` items may contain ``{home}``, the run's temporary home. ``files`` are written
    under that home before launch. ``markers`` are regular expressions that must all be on
    screen (anywhere, multiline mode) for the first full screen to count as drawn.
    """

    name: str
    argv: tuple[str, ...]
    markers: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    missing: str | None = None
    """Why the program cannot run here (not installed), or None."""


def _which(*candidates: Path | str) -> str | None:
    for candidate in candidates:
        path = Path(candidate)
        if path.is_absolute():
            if os.access(path, os.X_OK):
                return str(path)
        elif found := shutil.which(str(candidate)):
            return found
    return None


def _program(
    name: str,
    executable: str | None,
    args: Sequence[str],
    markers: Sequence[str],
    hint: str,
    **extra: Mapping[str, str],
) -> Program:
    return Program(
        name=name,
        argv=(executable or name, *args),
        markers=tuple(markers),
        missing=None if executable else hint,
        **extra,
    )


SETUP_HINT = "not installed: run bench/setup-peers.sh"


def default_programs(opsconsole: Path) -> dict[str, Program]:
    """The programs compared, by name, each set to refresh once a second where it can."""
    # The name as a word of its own: hosts are often called something short, like "vm".
    host = rf"(?<![\w.-]){re.escape(socket.gethostname())}(?![\w.-])"
    percent = r"\d+(\.\d+)?\s?%"
    programs = [
        _program(
            "opsconsole",
            _which(opsconsole),
            ["--refresh", "1"],
            # The header names the host, a figure means the first sample reached the host
            # pane, and the process table has its heading.
            [host, r"\bCPU\b", percent, r"\bPID\b"],
            f"not found at {opsconsole} (pip install -e . in the repo, or --opsconsole PATH)",
        ),
        _program(
            "htop",
            _which("htop"),
            ["-d", "10"],  # tenths of a second
            [r"Load average:", r"PID USER"],
            SETUP_HINT,
        ),
        _program(
            "btop",
            _which("btop"),
            [],
            [r"LAV: \d", r"Pid:"],
            SETUP_HINT,
            # btop's refresh is a config setting (default 2000 ms), not an option.
            files={"config/btop/btop.conf": "update_ms = 1000\n"},
        ),
        _program(
            "glances",
            _which(PEERS_VENV / "bin" / "glances", "glances"),
            ["-t", "1"],
            [r"LOAD", r"Command"],
            SETUP_HINT,
        ),
        _program(
            "toolong",
            _which(PEERS_VENV / "bin" / "tl"),
            ["{home}/" + LOG_FILE],
            [rf"request {LOG_LINES - 1} served"],
            SETUP_HINT,
            files={LOG_FILE: _log_text()},
        ),
        *(
            # Textual's own floor: a bare app redrawing 1 or 40 lines a second (see the module).
            _program(
                f"textual-{lines}",
                sys.executable,
                [str(Path(__file__).with_name("textual_floor.py")), str(lines)],
                [r"^line 39\b"],
                "",
            )
            for lines in (1, 40)
        ),
    ]
    return {program.name: program for program in programs}


def apply_marker_overrides(programs: dict[str, Program], overrides: Sequence[str]) -> None:
    """Replace markers from ``NAME=REGEX`` options; several for one NAME must all match."""
    new: dict[str, list[str]] = {}
    for item in overrides:
        name, sep, regex = item.partition("=")
        if not sep or name not in programs:
            raise SystemExit(
                f"--marker {item!r}: expected NAME=REGEX with NAME in {list(programs)}"
            )
        re.compile(regex)
        new.setdefault(name, []).append(regex)
    for name, markers in new.items():
        old = programs[name]
        programs[name] = Program(
            old.name, old.argv, tuple(markers), old.files, old.env, old.missing
        )


def programs_from(args: argparse.Namespace) -> dict[str, Program]:
    """The programs as the shared options set them (``--opsconsole``, ``--marker``); also turns
    ``args.env`` from ``NAME=VALUE`` items into a mapping."""
    args.env = parse_env(args.env)
    programs = default_programs(args.opsconsole)
    apply_marker_overrides(programs, args.marker)
    return programs


def parse_env(items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` options as a mapping."""
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env {item!r}: expected KEY=VALUE")
        env[key] = value
    return env


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment every program starts with: ours minus terminal and tmux specifics.

    PYTHON* settings go too: a sandbox's PYTHONDONTWRITEBYTECODE would make every launch of
    a Python program compile its modules again, which no installed program does.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TMUX", "LC_", "PYTHON"))
        and key not in {"COLORTERM", "TERM_PROGRAM"}
    }
    env["LANG"] = "C.UTF-8"  # btop refuses to run without a UTF-8 locale
    env.update(extra)
    return env


# -- process trees -------------------------------------------------------------------


@dataclass(frozen=True)
class TreeSample:
    """CPU seconds and resident memory of a process and its descendants at one moment.

    ``cpu`` adds, for every live process in the tree, its own user+system time and the
    time of the children it has reaped, so a helper that ran and exited between two samples
    still counts (in its parent's total) and nothing is counted twice.
    """

    at: float
    cpu: float
    rss: int
    processes: int
    threads: int


def sample_tree(root: psutil.Process) -> TreeSample | None:
    """The tree's totals now; None when the root has gone."""
    at = time.monotonic()
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    cpu = 0.0
    rss = threads = count = 0
    for process in members:
        try:
            with process.oneshot():
                times = process.cpu_times()
                memory = process.memory_info()
                thread_count = process.num_threads()
        except psutil.NoSuchProcess:
            if process is root:
                return None
            continue  # exited since the listing; its time is in its parent's children_* now
        cpu += times.user + times.system + times.children_user + times.children_system
        rss += memory.rss
        threads += thread_count
        count += 1
    return TreeSample(at, cpu, rss, count, threads)


def host_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    times = psutil.cpu_times()
    total = float(sum(times))
    return total - times.idle - getattr(times, "iowait", 0.0), total


def busy_percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    """How busy the machine was between two ``host_cpu`` readings, in percent of all cores."""
    total = after[1] - before[1]
    return 100 * (after[0] - before[0]) / total if total > 0 else 0.0


def process_cpu(pid: int) -> float | None:
    """User+system CPU seconds of one process (the tmux server), None if it has gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return None
    return float(times.user + times.system)


def vm_hwm(pid: int) -> int | None:
    """The kernel's peak resident set (VmHWM) of one process in bytes, if readable."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


# -- tmux ----------------------------------------------------------------------------

_TMUX_CONF = f"""\
set -g default-terminal {TERM}
set -g status off
set -g remain-on-exit on
set -g history-limit 0
"""

_sockets = itertools.count()

DEATH_CHECK = 0.25
"""Seconds between checks, while waiting for the first screen, that the program still runs."""


class LaunchError(RuntimeError):
    """The program died or never drew its screen; the message holds what the pane showed."""


class Pane:
    """A detached WIDTHxHEIGHT pane on a private tmux server, for one launch of one program.

    Use as a context manager; ``launch`` starts the program, leaving the clock to the caller.
    Leaving the context kills the server and waits for the program's processes to end.
    """

    def __init__(self, program: Program, extra_env: Mapping[str, str]) -> None:
        self.program = program
        self._home = Path(tempfile.mkdtemp(prefix=f"opsbench-{program.name}-"))
        self._socket = f"opsbench-{os.getpid()}-{next(_sockets)}"
        self._env = base_env(extra_env)
        for variable, sub in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
        ):
            (self._home / sub).mkdir()
            self._env[variable] = str(self._home / sub)
        self._env.update(program.env)
        for relative, text in program.files.items():
            path = self._home / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (self._home / "tmux.conf").write_text(_TMUX_CONF)
        self.argv = [arg.format(home=self._home) for arg in program.argv]
        self.pid: int | None = None
        self.server_pid: int | None = None
        self._known: list[psutil.Process] = []
        self._socket_path: Path | None = None

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this pane's server; its stdout."""
        result = subprocess.run(
            ["tmux", "-L", self._socket, "-f", str(self._home / "tmux.conf"), *args],
            env=self._env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def __enter__(self) -> Pane:
        try:
            return self._start()
        except BaseException:
            shutil.rmtree(self._home, ignore_errors=True)
            raise

    def _start(self) -> Pane:
        self.tmux(
            "new-session", "-d", "-s", "bench", "-x", str(WIDTH), "-y", str(HEIGHT),
            "--", "sleep", "86400",
        )  # fmt: skip
        pid, socket_path = self.tmux(
            "display-message", "-p", "-t", "bench", "#{pid} #{socket_path}"
        ).split(maxsplit=1)
        self.server_pid, self._socket_path = int(pid), Path(socket_path.rstrip("\n"))
        return self

    def launch(self) -> None:
        """Replace the placeholder with the program; its pid becomes ``self.pid``."""
        self.tmux("respawn-pane", "-k", "-t", "bench", "--", *self.argv)
        self.pid = int(self.tmux("display-message", "-p", "-t", "bench", "#{pane_pid}"))
        with contextlib.suppress(psutil.NoSuchProcess):
            self._known = [psutil.Process(self.pid)]

    def capture(self) -> str:
        """The pane's screen as plain text."""
        return self.tmux("capture-pane", "-p", "-t", "bench")

    def dead(self) -> str | None:
        """None while the program runs, else how it ended."""
        fields = "#{pane_dead} #{pane_dead_status}#{?pane_dead_signal, signal ,}"
        fields += "#{pane_dead_signal}"
        for _ in range(50):
            status = self.tmux("display-message", "-p", "-t", "bench", fields).split()
            if status[0] != "1":
                return None
            if len(status) > 1:
                return f"exited with status {' '.join(status[1:])}"
            # The pane reads as dead when its terminal closes, a moment before tmux reaps it.
            time.sleep(0.01)
        return "exited"

    def remember_tree(self) -> None:
        """Note the program's current descendants so that closing can reap them too."""
        with contextlib.suppress(psutil.NoSuchProcess):
            if self._known:
                self._known += self._known[0].children(recursive=True)

    def wait_ready(self, timeout: float, poll: float) -> tuple[float, float | None, str]:
        """Poll the screen until every marker is on it.

        Returns (seconds to all markers, seconds to first non-blank screen, screen), counted
        from the call, each the moment the capture that showed it returned: an upper bound
        within one poll interval plus one capture (a few ms). Raises LaunchError on death or
        timeout.
        """
        patterns = [re.compile(marker, re.MULTILINE) for marker in self.program.markers]
        start = time.perf_counter()
        first: float | None = None
        next_check = DEATH_CHECK
        while True:
            screen = self.capture()
            now = time.perf_counter() - start
            if first is None and screen.strip():
                first = now
            if all(pattern.search(screen) for pattern in patterns):
                return now, first, screen
            if now > timeout:
                raise LaunchError(f"no ready screen in {timeout:g} s; screen:\n{tail(screen)}")
            # Asked a few times a second only: each question is a tmux call competing with
            # the program for the CPU and delaying the next capture.
            if now >= next_check:
                next_check = now + DEATH_CHECK
                if (how := self.dead()) is not None:
                    raise LaunchError(f"{how}; screen:\n{tail(self.capture())}")
            time.sleep(poll)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.remember_tree()
        with contextlib.suppress(RuntimeError):
            self.tmux("kill-server")  # the program gets SIGHUP, as when a terminal closes
        _, alive = psutil.wait_procs(self._known, timeout=5)
        for process in alive:  # only processes this pane started
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=5)
        if self._socket_path is not None:  # tmux leaves its socket file behind
            self._socket_path.unlink(missing_ok=True)
        shutil.rmtree(self._home, ignore_errors=True)


def tail(screen: str, lines: int = 15) -> str:
    """The last non-blank lines of a screen, for error messages."""
    return "\n".join([line for line in screen.splitlines() if line.strip()][-lines:])


def quiet_period(seconds: float, max_load: float, max_wait: float) -> float:
    """Pause before a launch until the machine is quiet.

    Sleeps ``seconds`` (the previous program's teardown settles), then keeps waiting, a
    second at a time, while the rest of the machine is busier than ``max_load`` percent of
    all cores, for at most ``max_wait`` seconds in all. Returns the load of the last stretch
    waited, so a busy machine shows in the results instead of stalling them.
    """
    deadline = time.monotonic() + max_wait
    before = host_cpu()
    time.sleep(seconds)
    load = busy_percent(before, host_cpu())
    while load > max_load and time.monotonic() < deadline:
        before = host_cpu()
        time.sleep(1.0)
        load = busy_percent(before, host_cpu())
    return load


def add_quiet_options(parser: argparse.ArgumentParser, pause: float) -> None:
    """The options of ``quiet_period``: --pause, --max-load, --max-wait."""
    parser.add_argument(
        "--pause", type=float, default=pause, help=f"quiet seconds before each launch ({pause:g})"
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=10.0,
        help="then wait while the rest of the machine uses more than this %% of it (10)",
    )
    parser.add_argument(
        "--max-wait", type=float, default=120.0, help="but at most this many seconds (120)"
    )


# -- reporting -----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def ratio(ours: float | None, theirs: float | None) -> str:
    """``ours/theirs`` formatted for a table, or a dash."""
    if ours is None or theirs is None or theirs <= 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain aligned table on stdout: first column left, the rest right."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def print_errors(results: Mapping[str, Mapping[str, object]]) -> None:
    """Why each failed program failed, after the table."""
    for name, result in results.items():
        if "error" in result:
            print(f"\n{name}: {result['error']}")


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
        "terminal": f"tmux {WIDTH}x{HEIGHT} TERM={TERM}",
    }


def program_version(program: Program) -> str | None:
    """The program's own idea of its version (first line of ``--version``), if it has one."""
    if program.missing:
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            [program.argv[0], "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        lines = (result.stdout or result.stderr).strip().splitlines()
        return lines[0] if lines else None
    return None


def write_json(kind: str, data: Mapping[str, object], path: Path | None) -> Path:
    """Write results to ``path`` or bench/results/<kind>-<timestamp>.json; the path used."""
    if path is None:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def select(programs: dict[str, Program], names: Sequence[str]) -> Iterator[Program]:
    """The named programs in order; unknown names are a usage error."""
    for name in names:
        if name not in programs:
            raise SystemExit(f"unknown program {name!r}; choose from {list(programs)}")
        yield programs[name]
