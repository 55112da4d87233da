"""Capture and open at scale: what ``opsconsole capture`` and ``opsconsole open`` cost.

1. Capture a host with 20 real podman containers (a private podman service, removed at the
   end) whose logs hold 100 MB together (5 MB each), for ``--duration`` seconds: wall time,
   time spent after the recording (snapshots, inspects, log tails, redaction, tar.gz), bundle
   size. The bundle keeps each container's last 2000 log lines (bounded by design).
2. 100 MB of raw log files through the bundle writer (redaction on) into a tar.gz: time, size.
3. Open a 1 GB bundle (a synthetic events.jsonl under /tmp, made once), as a directory and as
   a .tar.gz: time to the first screen, i.e. from the call to the console showing the first
   host sample, headless in this process (the archive streams: the rest extracts meanwhile);
   the time the whole extraction took before opening streamed; and ``opsconsole open
   --check`` over the directory (every sha256 and every line).

    .venv/bin/python bench/capture.py                  # ~3 min the first time (makes the 1 GB file)
    .venv/bin/python bench/capture.py --skip-capture --open-mb 200
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opsconsole import open_cli  # noqa: E402
from opsconsole.bundle import BundleWriter, check_bundle, open_bundle, pack  # noqa: E402
from opsconsole.capture import capture  # noqa: E402
from opsconsole.config import Config, ContainersConfig, InvestigationConfig  # noqa: E402
from opsconsole.sources.events import (  # noqa: E402
    HostSample,
    LogLine,
    LogLines,
    encode,
)
from tests.containers.conftest import private_podman  # noqa: E402

LINE = "2025-01-01T00:00:00Z INFO request served in 12 ms user=bob path=/api/v1/items"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


async def bench_capture(duration: float, containers: int, log_mb: float, work: Path) -> None:
    per = int(log_mb * 1e6 / containers)
    with private_podman() as podman:
        names = [
            podman.run("sh", "-c", f'yes "{LINE} token=abc" | head -c {per}; sleep 3600')
            for _ in range(containers)
        ]
        time.sleep(3)  # the logs are written
        config = Config(
            containers=ContainersConfig(
                discover=False, engines=(f"podman=unix://{podman.root / 'podman.sock'}",)
            ),
            investigation=InvestigationConfig(store=work / "none.db"),
        )
        started = time.perf_counter()
        path = await capture(config, duration=duration, output=work / "cap.tar.gz", host="b")
        wall = time.perf_counter() - started
        podman("rm", "--force", "--time", "0", *names, check=False)
    print(
        f"capture, {containers} containers, {_mb(per * containers)} of container logs,"
        f" {duration:g} s: wall {wall:.1f} s (after recording {wall - duration:.1f} s),"
        f" bundle {_mb(path.stat().st_size)}"
    )


def bench_raw_logs(log_mb: float, work: Path) -> None:
    logs = work / "logs"
    logs.mkdir()
    block = (LINE + " password=hunter2\n") * 1000
    for n in range(10):
        with (logs / f"app{n}.log").open("w") as fh:
            for _ in range(int(log_mb * 1e5 / len(block))):
                fh.write(block)
    size = sum(p.stat().st_size for p in logs.iterdir())
    started = time.perf_counter()
    writer = BundleWriter(work / "raw")
    for path in sorted(logs.iterdir()):
        writer.add_file(f"logs/{path.name}", path, limit=size)
    archive = writer.finish(host="b", fmt="tar.gz")
    took = time.perf_counter() - started
    print(
        f"bundle of {_mb(size)} raw logs (redacted, tar.gz): {took:.1f} s,"
        f" {_mb(archive.stat().st_size)}"
    )


def make_big_bundle(root: Path, megabytes: int) -> Path:
    """A bundle whose events.jsonl is about ``megabytes`` MB, made once and kept under /tmp."""
    if (root / "manifest.json").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    events = root / "events.jsonl"
    digest = hashlib.sha256()
    t0 = 1_700_000_000.0
    size = n = 0
    with events.open("wb") as fh:
        while size < megabytes * 1_000_000:
            chunk = b"".join(
                encode(HostSample(ts=t0 + n + i, host="big", source="host", cpu_percent=12.5))
                + b"\n"
                + encode(
                    LogLines(
                        ts=t0 + n + i,
                        host="big",
                        source="file",
                        stream="file:/var/log/app.log",
                        lines=tuple(LogLine(text=f"{LINE} {n + i} {j}") for j in range(40)),
                    )
                )
                + b"\n"
                for i in range(200)
            )
            n += 200
            fh.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    manifest = {
        "format": "opsconsole-bundle",
        "format_version": 1,
        "host": "big",
        "sources": ["file", "host"],
        "event_counts": {"host.sample": n, "log.lines": n},
        "time_span": {"start": t0, "end": t0 + n - 1},
        "files": {"events.jsonl": {"sha256": digest.hexdigest(), "size": size}},
        "redaction": {"enabled": True, "masked": {}},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def make_big_archive(root: Path) -> Path:
    """The big bundle as a .tar.gz packed as capture packs it (manifest first), made once."""
    archive = root.with_name(root.name + ".tar.gz")
    if not archive.is_file():
        partial = archive.with_name(archive.name + ".part")
        pack(root, partial)
        partial.rename(archive)
    return archive


async def bench_open(root: Path, size: int) -> None:
    started = time.perf_counter()
    with open_cli.opened(root, Config()) as session:
        opened = time.perf_counter() - started
        app = open_cli.make_app(session)
        async with app.run_test(size=(160, 45)) as pilot:
            while app.hub.latest("host.sample") is None:
                await pilot.pause(0.01)
            await pilot.pause()  # the pump delivers, the screen is drawn
            first = time.perf_counter() - started
    kind = "bundle" if root.is_dir() else f"bundle .tar.gz ({_mb(root.stat().st_size)})"
    print(
        f"open {_mb(size)} {kind}: first screen in {first:.2f} s"
        f" (of which opening the bundle {opened:.2f} s; checksums verified meanwhile)"
    )
    started = time.perf_counter()
    problems = check_bundle(root)
    print(f"open --check {_mb(size)}: {time.perf_counter() - started:.1f} s, {problems or 'sound'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--log-mb", type=float, default=100.0)
    parser.add_argument("--open-mb", type=int, default=1000)
    parser.add_argument("--skip-capture", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="opsc-bench-data-"))
    work = Path(tempfile.mkdtemp(prefix="opsc-bench-capture-"))
    try:
        if not args.skip_capture:
            asyncio.run(bench_capture(args.duration, args.containers, args.log_mb, work))
            bench_raw_logs(args.log_mb, work)
        big = make_big_bundle(Path(f"/tmp/opsconsole-bench-bundle-{args.open_mb}mb"), args.open_mb)
        size = (big / "events.jsonl").stat().st_size
        asyncio.run(bench_open(big, size))
        archive = make_big_archive(big)
        asyncio.run(bench_open(archive, size))
        started = time.perf_counter()
        open_bundle(archive, work / "whole")  # what opening waited for before it streamed
        print(
            f"the same .tar.gz extracted and verified whole first (the open before streaming):"
            f" {time.perf_counter() - started:.2f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
