"""Opening a sosreport: time from ``open`` to the first event and to the last, archive and tree.

Builds a sosreport in the real layout under /tmp (about 1,200 files and 30 MB, mostly logs, as
tests/bundles_read/sosbuild.py writes them) and its ``.tar.xz`` (xz preset 3, as sos packs it),
then times SosReportSource: ``open`` (for an archive, until the first screen's files are out:
the rest extracts meanwhile), the first event (host facts: what the first screen shows) and
every event (all logs read); and the archive's whole extraction, which is what the first event
waited for before the source streamed. Then the whole of it, end to end: the installed
``opsconsole open REPORT`` launched in a 160x45 tmux pane (bench/_harness.py), timed until the
report's host name, the REPLAY badge and its process table are on screen. No peer tool opens
a sosreport interactively, so there is no peer figure.

    .venv/bin/python bench/sosreport_open.py            # ~30 s
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

from opsconsole.sources.archive import safe_extract
from opsconsole.sources.events import LogLines
from opsconsole.sources.sosreport import SosReportSource
from tests.bundles_read.sosbuild import build_sosreport


async def _time_open(path: Path, workdir: Path) -> tuple[float, float, float, int, int]:
    """Seconds to open, to the first event, to the last event; events and log lines."""
    start = time.perf_counter()
    source = SosReportSource(path, workdir=workdir)
    await source.open()
    opened = time.perf_counter() - start
    first = 0.0
    events = lines = 0
    async for event in source.events():
        if events == 0:
            first = time.perf_counter() - start
        events += 1
        if isinstance(event, LogLines):
            lines += len(event.lines)
    last = time.perf_counter() - start
    await source.close()
    return opened, first, last, events, lines


def _time_first_screen(path: Path) -> float:
    """Seconds from launching ``opsconsole open PATH`` to its first full screen."""
    program = h.Program(
        name="opsconsole-open",
        argv=(str(h.DEFAULT_OPSCONSOLE), "open", str(path)),
        markers=("web01", "REPLAY", r"PID\s+USER"),
    )
    with h.Pane(program, {}) as pane:
        pane.launch()
        seconds, _, _ = pane.wait_ready(timeout=30.0, poll=0.01)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1200, help="files in the report")
    parser.add_argument("--mb", type=float, default=30.0, help="size of the report in MB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="opsconsole-sosbench-"))
    try:
        logs = max(2, args.files - 25)
        root = build_sosreport(base, log_files=logs, log_bytes=int(args.mb * 1e6 / logs))
        files = sum(1 for p in root.rglob("*") if p.is_file() or p.is_symlink())
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        archive = base / f"{root.name}.tar.xz"
        t0 = time.perf_counter()
        with tarfile.open(archive, "w:xz", preset=3) as tar:
            tar.add(root, arcname=root.name)
        packed = time.perf_counter() - t0
        print(
            f"report: {files} files, {size / 1e6:.1f} MB; .tar.xz "
            f"{archive.stat().st_size / 1e6:.2f} MB (packed in {packed:.1f} s)"
        )
        print(
            f"{'input':<10} {'open s':>8} {'first event s':>14} {'all events s':>13} "
            f"{'events':>7} {'log lines':>10}"
        )
        for label, path in (("directory", root), ("tar.xz", archive)):
            runs = [asyncio.run(_time_open(path, base)) for _ in range(args.runs)]
            opened, first, last = (statistics.median(r[i] for r in runs) for i in range(3))
            print(
                f"{label:<10} {opened:>8.3f} {first:>14.3f} {last:>13.3f} "
                f"{runs[0][3]:>7} {runs[0][4]:>10}"
            )
        whole = []
        for run in range(args.runs):
            t0 = time.perf_counter()
            safe_extract(archive, base / f"whole-{run}")
            whole.append(time.perf_counter() - t0)
        print(
            f"tar.xz whole extraction (the first event's wait before streaming): "
            f"{statistics.median(whole):.3f} s"
        )
        for label, path in (("directory", root), ("tar.xz", archive)):
            screens = [_time_first_screen(path) for _ in range(args.runs)]
            print(
                f"{label:<10} first full screen in tmux (launch to screen): "
                f"{statistics.median(screens):.3f} s median, {min(screens):.3f} s best"
            )
        print(f"target: first screen under 2 s (medians of {args.runs} runs)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
