"""The process scanner against the real host: own process found, busy ones ranked, processes that
exit or hide mid-scan counted (never a crash), hostile command lines made safe to print."""

from __future__ import annotations

import contextlib
import gc
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from opsconsole.sources.events import ProcessRow, ProcessTable, decode
from opsconsole.sources.processes import (
    COMMAND_MAX,
    UNKNOWN,
    ProcessScanner,
    format_command,
)
from opsconsole.sources.text import safe_text

NOBODY = 65534


def scanner(rows: int = 1000) -> ProcessScanner:
    return ProcessScanner(host="test", rows=rows)


def row_of(table: ProcessTable, pid: int) -> ProcessRow:
    matches = [row for row in table.rows if row.pid == pid]
    assert matches, f"pid {pid} missing from the table of {len(table.rows)} rows"
    return matches[0]


def assert_terminal_safe(text: str) -> None:
    """Nothing a terminal acts on: no C0 (ESC, BEL), DEL or C1 control characters."""
    bad = [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"raw control characters {bad!r} in {text!r}"


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test; killed and reaped afterwards, whatever happens."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
    for process in started:
        process.wait()


def start(spawn: list[subprocess.Popen[bytes]], argv: list[str | bytes]) -> int:
    """Start ``argv``, wait until it says it is ready, return its pid."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    spawn.append(process)
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    return process.pid


READY_THEN_SLEEP = "import sys, time; print('ready', flush=True); time.sleep(60)"


def test_own_process_is_listed_with_its_figures() -> None:
    me = psutil.Process()
    table = scanner().scan()
    row = row_of(table, os.getpid())
    assert row.command == " ".join(me.cmdline())
    assert row.user == pwd.getpwuid(os.geteuid()).pw_name
    assert row.ppid == os.getppid()
    assert row.state == "R"  # it is scanning
    assert row.threads == me.num_threads()
    assert row.started == pytest.approx(me.create_time(), abs=0.05)
    assert row.rss == pytest.approx(me.memory_info().rss, rel=0.2)
    assert row.mem_percent == pytest.approx(row.rss / psutil.virtual_memory().total * 100, abs=0.1)
    assert abs(table.total - len(psutil.pids())) <= 10  # other helpers start and end processes
    assert table.running >= 1
    assert table.vanished >= 0 and table.denied == 0  # root reads every process


def test_kernel_threads_have_no_command() -> None:
    kthreadd = row_of(scanner().scan(), 2) if Path("/proc/2/stat").exists() else None
    if kthreadd is None or kthreadd.name != "kthreadd":
        pytest.skip("no kernel threads visible (a container with its own pid namespace)")
    assert kthreadd.command == ""


def test_busy_process_shows_its_cpu_share(spawn: list[subprocess.Popen[bytes]]) -> None:
    busy = start(spawn, [sys.executable, "-c", "print('ready', flush=True)\nwhile True: pass"])
    scan = scanner(rows=5)  # the top 3 by CPU and the top 2 by memory
    scan.scan()
    time.sleep(1.0)
    table = scan.scan()
    row = row_of(table, busy)
    assert row.cpu_percent > 40  # a spinning process on a 2-core machine shared with others
    assert row.cpu_percent <= 100 * (psutil.cpu_count() or 1)
    assert len(table.rows) == 5


TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class FakeProc:
    """A /proc tree in a directory, in the kernel's file formats, for exact figures."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.now = 1000.0  # seconds since boot
        (root / "stat").write_text("cpu  1 2 3\nbtime 1700000000\n")
        (root / "meminfo").write_text("MemTotal:       4000000 kB\n")

    def process(
        self,
        pid: int,
        *,
        cpu_seconds: float,
        rss_pages: int,
        name: str = "worker",
        argv: bytes = b"worker\0--flag\0",
        state: str = "S",
        start: int = 0,
    ) -> None:
        directory = self.root / str(pid)
        directory.mkdir(exist_ok=True)
        ticks = int(cpu_seconds * TICKS)
        (directory / "stat").write_text(
            f"{pid} ({name}) {state} 1 {pid} {pid} 0 -1 4194560 100 0 0 0 {ticks} 0 0 0 20 0 "
            f"3 0 {start} 123456 {rss_pages} 18446744073709551615 0 0 0\n"
        )
        (directory / "cmdline").write_bytes(argv)
        (directory / "status").write_text(f"Name:\t{name}\nUid:\t0\t{NOBODY}\t0\t0\n")

    def scanner(self, rows: int) -> ProcessScanner:
        return ProcessScanner(host="test", rows=rows, proc_root=self.root, clock=lambda: self.now)


def test_rows_are_the_top_by_cpu_and_the_top_by_memory(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    # Seen for the first time, a process shows its lifetime average: cpu seconds / 1000 s.
    proc.process(10, cpu_seconds=500, rss_pages=10)  # 50 %
    proc.process(11, cpu_seconds=200, rss_pages=20)  # 20 %
    proc.process(12, cpu_seconds=0, rss_pages=1000)
    proc.process(13, cpu_seconds=0, rss_pages=500)
    proc.process(14, cpu_seconds=10, rss_pages=1)  # 1 %
    assert [r.pid for r in proc.scanner(rows=2).scan().rows] == [10, 12]
    table = proc.scanner(rows=4).scan()
    assert [r.pid for r in table.rows] == [10, 12, 11, 13]
    assert table.total == 5 and table.running == 0
    first = table.rows[0]
    assert (first.cpu_percent, first.rss, first.user, first.command) == (
        50.0,
        10 * PAGE,
        pwd.getpwuid(NOBODY).pw_name,  # the effective uid, second on the Uid line
        "worker --flag",
    )
    assert first.started == 1700000000.0
    assert first.mem_percent == round(10 * PAGE / 4_096_000_000 * 100, 1)


def test_cpu_is_measured_since_the_previous_scan(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    proc.process(10, cpu_seconds=500, rss_pages=10, state="R")
    proc.process(11, cpu_seconds=200, rss_pages=20)
    scan = proc.scanner(rows=10)
    scan.scan()
    proc.now += 2.0
    proc.process(10, cpu_seconds=501, rss_pages=10, state="R")  # one second in two: 50 %
    proc.process(11, cpu_seconds=200, rss_pages=20)  # idle
    proc.process(12, cpu_seconds=0.5, rss_pages=5, start=int(1001 * TICKS))  # new, 1 s old
    table = scan.scan()
    assert {r.pid: r.cpu_percent for r in table.rows} == {10: 50.0, 11: 0.0, 12: 50.0}
    assert table.running == 1
    # A pid reused by a new process (another start time) starts afresh.
    proc.now += 1.0
    proc.process(10, cpu_seconds=0.1, rss_pages=10, start=int(1002.5 * TICKS))
    assert row_of(scan.scan(), 10).cpu_percent == 20.0  # 0.1 s over its 0.5 s of life


def test_a_process_going_idle_shows_zero_and_then_keeps_its_row(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    proc.process(10, cpu_seconds=500, rss_pages=10, state="R")
    scan = proc.scanner(rows=10)
    scan.scan()
    proc.now += 1.0
    proc.process(10, cpu_seconds=500.5, rss_pages=10, state="R")
    assert row_of(scan.scan(), 10).cpu_percent == 50.0
    # Its stat unchanged to the byte from here on: idle, whatever it was before.
    proc.now += 1.0
    idle = row_of(scan.scan(), 10)
    assert (idle.cpu_percent, idle.state, idle.rss) == (0.0, "R", 10 * os.sysconf("SC_PAGE_SIZE"))
    proc.now += 1.0
    assert row_of(scan.scan(), 10) is idle  # nothing made again for a process that did nothing
    proc.now += 1.0
    proc.process(10, cpu_seconds=500.5, rss_pages=12, state="S")  # memory and state move
    moved = row_of(scan.scan(), 10)
    assert (moved.cpu_percent, moved.state, moved.rss) == (
        0.0,
        "S",
        12 * os.sysconf("SC_PAGE_SIZE"),
    )


def test_command_is_read_again_after_exec_or_after_a_while(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    proc.process(10, cpu_seconds=1, rss_pages=1, argv=b"sh\0-c\0run\0")
    scan = proc.scanner(rows=10)
    assert scan.scan().rows[0].command == "sh -c run"
    # argv rewritten in place (as setproctitle does): cached for a while, then seen.
    proc.process(10, cpu_seconds=1, rss_pages=1, argv=b"worker: idle\0")
    assert scan.scan().rows[0].command == "sh -c run"
    proc.now += 11
    assert scan.scan().rows[0].command == "worker: idle"
    # exec changes the name: read again at once.
    proc.process(10, cpu_seconds=1, rss_pages=1, name="python3", argv=b"python3\0app.py\0")
    assert scan.scan().rows[0].command == "python3 app.py"


def test_unparsable_stat_is_counted_as_unreadable(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    proc.process(10, cpu_seconds=1, rss_pages=1)
    (tmp_path / "11").mkdir()
    (tmp_path / "11" / "stat").write_text("11 (truncated")
    table = proc.scanner(rows=10).scan()
    assert (table.total, table.denied) == (2, 1)
    assert [(r.pid, r.command) for r in table.rows] == [(10, "worker --flag"), (11, UNKNOWN)]


def test_processes_exiting_mid_scan_are_counted_not_fatal() -> None:
    # A parent that keeps starting and reaping short-lived children, 50 at a time.
    churn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, time\n"
            "end = time.monotonic() + 20\n"
            "while time.monotonic() < end:\n"
            "    batch = [subprocess.Popen(['sleep', '0.01']) for _ in range(50)]\n"
            "    for p in batch: p.wait()\n",
        ]
    )
    try:
        scan = scanner()
        seen_vanished = 0
        deadline = time.monotonic() + 15
        scans = 0
        while time.monotonic() < deadline and (seen_vanished == 0 or scans < 50):
            table = scan.scan()
            scans += 1
            seen_vanished += table.vanished
            assert table.rows
            # Everything fits in 1000 rows: the exited are neither listed nor in the total.
            assert len(table.rows) == table.total
            assert all(row.name != UNKNOWN for row in table.rows)
        assert seen_vanished > 0, f"no process exited mid-scan in {scans} scans"
    finally:
        churn.kill()
        churn.wait()


def test_listed_process_without_files_counts_as_vanished(tmp_path: Path) -> None:
    """Deterministic twin of the race above: a pid directory whose files are already gone."""
    proc = FakeProc(tmp_path)
    proc.process(10, cpu_seconds=1, rss_pages=1)
    (tmp_path / "4242").mkdir()
    table = proc.scanner(rows=10).scan()
    assert (table.total, table.vanished, [r.pid for r in table.rows]) == (1, 1, [10])


DENIED_SCAN = """
import os, sys
from opsconsole.sources.events import encode
from opsconsole.sources.processes import ProcessScanner
table = ProcessScanner(host="test", rows=1000).scan()
sys.stdout.buffer.write(encode(table) + b"\\n" + str(os.getpid()).encode())
"""


def test_scan_as_another_user_under_hidepid_counts_denied() -> None:
    """In a private mount namespace, /proc is remounted with hidepid=1 and the scanner runs as
    nobody: root's processes are listed but unreadable, as on hardened hosts."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("needs root, unshare and setpriv")
    script = (
        "mount -t proc -o hidepid=1 proc /proc && exec setpriv --reuid=65534 --regid=65534 "
        '--clear-groups "$0" -c "$1"'
    )
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    result = subprocess.run(
        [*argv, sys.executable, DENIED_SCAN],
        capture_output=True,
        timeout=60,
    )
    if result.returncode != 0 and b"mount" in result.stderr:
        pytest.skip(f"cannot mount a private /proc here: {result.stderr.decode()[-200:]}")
    assert result.returncode == 0, result.stderr.decode()
    line, own_pid = result.stdout.rsplit(b"\n", 1)
    table = decode(line)
    assert isinstance(table, ProcessTable)
    assert table.denied > 0
    assert len(table.rows) == table.total  # denied ones are listed too
    init = row_of(table, 1)
    assert (init.user, init.command, init.state, init.name) == ("root", UNKNOWN, UNKNOWN, UNKNOWN)
    scanner_row = row_of(table, int(own_pid))  # its own process stays fully readable
    assert scanner_row.user == pwd.getpwuid(NOBODY).pw_name
    assert "ProcessScanner" in scanner_row.command


def test_stat_files_kept_open_follow_their_processes_and_close(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    def open_files() -> int:  # stat files of /proc this process has open
        links = []
        for fd in list(Path("/proc/self/fd").iterdir()):
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed since
                links.append(str(fd.readlink()))
        return sum(1 for link in links if link.startswith("/proc/") and link.endswith("/stat"))

    before = open_files()
    scan = scanner()
    pid = start(spawn, [sys.executable, "-c", READY_THEN_SLEEP])
    assert row_of(scan.scan(), pid).state in ("S", "R")
    assert open_files() > before  # read again next time without opening
    spawn[0].kill()
    spawn[0].wait()
    assert all(row.pid != pid for row in scan.scan().rows)  # its open file does not show it
    again = start(spawn, [sys.executable, "-c", READY_THEN_SLEEP])
    assert row_of(scan.scan(), again).pid == again
    del scan
    gc.collect()
    assert open_files() <= before


def test_user_is_the_effective_user(spawn: list[subprocess.Popen[bytes]]) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")
    pid = start(
        spawn,
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-c",
            # Not dumpable any more, as daemons that drop privileges are: on many kernels
            # /proc/<pid> then belongs to root, yet ps (and this table) show the real owner.
            "import ctypes; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); " + READY_THEN_SLEEP,
        ],
    )
    assert row_of(scanner().scan(), pid).user == pwd.getpwuid(NOBODY).pw_name


def test_hostile_command_line_and_name_are_escaped(spawn: list[subprocess.Popen[bytes]]) -> None:
    pid = start(
        spawn,
        [
            sys.executable,
            "-c",
            # The name too can be set to anything (prctl PR_SET_NAME does it).
            "open('/proc/self/comm', 'wb').write(b'\\x1b[2Jevil\\xc2\\x9b'); " + READY_THEN_SLEEP,
            b"\x1b]0;pwn\x07",
            b"bad\xff\xfeutf8",
            "c1\x9b31m".encode(),
            b"tab\there\nnewline",
        ],
    )
    row = row_of(scanner().scan(), pid)
    assert_terminal_safe(row.command)
    assert_terminal_safe(row.name)
    assert "\\x1b]0;pwn\\x07" in row.command
    assert "bad\ufffd\ufffdutf8" in row.command
    assert "c1\\x9b31m" in row.command
    assert "tab\\x09here\\x0anewline" in row.command
    assert row.name.startswith("\\x1b[2Jevil")


def test_huge_command_line_is_capped(spawn: list[subprocess.Popen[bytes]]) -> None:
    pid = start(spawn, [sys.executable, "-c", READY_THEN_SLEEP, "x" * 100_000])
    row = row_of(scanner().scan(), pid)
    assert len(row.command) == COMMAND_MAX
    assert row.command.endswith("x" * 100)


def test_safe_text_and_format_command() -> None:
    assert safe_text("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    assert safe_text("\x1b[31mred\x1b[0m\x07") == "\\x1b[31mred\\x1b[0m\\x07"
    assert safe_text("\x7f\x85\x9b\u202e\u200b") == "\\x7f\\x85\\x9b\\u202e\\u200b"
    assert format_command(b"ls\0-l\0/tmp\0") == "ls -l /tmp"
    assert format_command(b"\xff\x1b") == "\ufffd\\x1b"
    assert len(format_command(b"\x1b" * COMMAND_MAX)) == COMMAND_MAX
