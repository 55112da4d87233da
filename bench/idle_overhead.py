"""What opsconsole and its peers cost while they sit idle on screen, refreshing once a second.

Each program runs alone in its own detached tmux pane (160x45, see _harness) for the same
time, one after another. After its first full screen and a warm-up, the script reads the CPU
time of the program's process tree (every process, its threads, and any children it reaped)
at the start and the end of the window and reports CPU seconds per minute; it samples the
tree's resident memory every ``--interval`` seconds from launch to the end and reports the
peak. The private tmux server's own CPU is shown too: it is the terminal's work of parsing
what the program draws, so a chattier repaint costs more there.

    .venv/bin/python bench/idle_overhead.py [--seconds 60] [--only htop --only btop ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import _harness as h
import psutil

PROGRAMS = ("opsconsole", "htop", "btop", "glances", "textual-1", "textual-40")
TARGET_CPU_PER_MIN = 0.6
TARGET_RSS_MB = 60.0
"""The issue's targets for opsconsole at a 1 s refresh."""

MB = 1e6
PAUSE = 3.0


@dataclass
class Idle:
    """One program's measurement."""

    cpu_s_per_min: float
    peak_rss_mb: float
    final_rss_mb: float
    vm_hwm_mb: float | None
    """The kernel's peak RSS of the main process alone (VmHWM)."""
    tmux_cpu_s_per_min: float | None
    window_s: float
    startup_s: float
    startup_cpu_s: float
    processes: int
    threads: int
    other_load_percent: float
    """The CPU use of everything else on the machine during the window, % of all cores."""
    screen_changed: bool
    """Whether the screen differed between the window's start and end (it refreshed)."""
    screen: str


def measure(program: h.Program, args: argparse.Namespace) -> Idle:
    """Run ``program`` for warm-up plus ``--seconds`` and measure it; LaunchError if it fails."""
    with h.Pane(program, args.env) as pane:
        pane.launch()
        startup, _, _ = pane.wait_ready(args.timeout, args.poll)
        assert pane.pid is not None and pane.server_pid is not None
        root = psutil.Process(pane.pid)
        samples: list[h.TreeSample] = []

        def sample_for(seconds: float) -> h.TreeSample:
            """Sample every interval for ``seconds``; the last sample (taken at the end)."""
            deadline = time.monotonic() + seconds
            while True:
                pane.remember_tree()
                sample = h.sample_tree(root)
                if sample is None:
                    raise h.LaunchError(
                        f"{pane.dead() or 'exited'}; screen:\n{h.tail(pane.capture())}"
                    )
                samples.append(sample)
                left = deadline - time.monotonic()
                if left <= 0:
                    return sample
                time.sleep(min(args.interval, left))

        ready = sample_for(args.warmup)
        server_start = h.process_cpu(pane.server_pid)
        host_start = h.host_cpu()
        screen_start = pane.capture()
        end = sample_for(args.seconds)
        server_end = h.process_cpu(pane.server_pid)
        host_end = h.host_cpu()
        screen_end = pane.capture()
        hwm = h.vm_hwm(pane.pid)

    window = end.at - ready.at
    tmux_cpu = None
    if server_start is not None and server_end is not None:
        tmux_cpu = (server_end - server_start) / window * 60
    cpu = (end.cpu - ready.cpu) / window * 60
    own_percent = (cpu + (tmux_cpu or 0.0)) / 60 / (os.cpu_count() or 1) * 100
    return Idle(
        cpu_s_per_min=cpu,
        peak_rss_mb=max(sample.rss for sample in samples) / MB,
        final_rss_mb=end.rss / MB,
        vm_hwm_mb=None if hwm is None else hwm / MB,
        tmux_cpu_s_per_min=tmux_cpu,
        window_s=window,
        startup_s=startup,
        startup_cpu_s=samples[0].cpu,
        processes=end.processes,
        threads=end.threads,
        other_load_percent=max(0.0, h.busy_percent(host_start, host_end) - own_percent),
        screen_changed=screen_start != screen_end,
        screen=screen_end,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window (60)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds from the first full screen to the window (5)")  # fmt: skip
    parser.add_argument("--interval", type=float, default=0.5, help="sampling interval (0.5)")
    parser.add_argument("--opsconsole", type=Path, default=h.DEFAULT_OPSCONSOLE)
    parser.add_argument("--only", action="append", metavar="NAME", help="measure only these")
    parser.add_argument("--marker", action="append", default=[], metavar="NAME=REGEX",
                        help="what the first full screen shows (see startup.py)")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for every program")  # fmt: skip
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between captures")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for ready")
    parser.add_argument("--json", type=Path, help="where to write results")
    h.add_quiet_options(parser, PAUSE)
    args = parser.parse_args()
    if args.seconds <= 0 or args.interval <= 0 or args.warmup < 0:
        parser.error("--seconds and --interval must be positive, --warmup not negative")
    programs = h.programs_from(args)

    started = h.machine()
    results: dict[str, dict[str, object]] = {}
    measured: dict[str, Idle] = {}
    for program in h.select(programs, args.only or PROGRAMS):
        info: dict[str, object] = {
            "argv": list(program.argv),
            "version": h.program_version(program),
        }
        if program.missing:
            info["error"] = program.missing
        else:
            print(f"measuring {program.name} for {args.seconds:g} s ...", file=sys.stderr)
            h.quiet_period(args.pause, args.max_load, args.max_wait)
            try:
                measured[program.name] = measure(program, args)
                info.update(asdict(measured[program.name]))
            except h.LaunchError as error:
                info["error"] = str(error)
        results[program.name] = info

    ours = measured.get("opsconsole")
    rows = []
    for name in results:
        if name not in measured:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-", "failed, see below"])
            continue
        idle = measured[name]
        peer = ours is not None and name != "opsconsole"
        rows.append([
            name,
            f"{idle.cpu_s_per_min:.3f}",
            f"{idle.peak_rss_mb:.1f}",
            h.ratio(ours.cpu_s_per_min, idle.cpu_s_per_min) if peer and ours else "",
            h.ratio(ours.peak_rss_mb, idle.peak_rss_mb) if peer and ours else "",
            "-" if idle.tmux_cpu_s_per_min is None else f"{idle.tmux_cpu_s_per_min:.3f}",
            f"{idle.processes}/{idle.threads}",
            f"{idle.other_load_percent:.1f}",
            "" if idle.screen_changed else "screen did not change!",
        ])  # fmt: skip
    print(f"\nidle overhead over {args.seconds:g} s at a 1 s refresh, after {args.warmup:g} s")
    h.print_table(
        ["program", "CPU-s/min", "peak RSS MB", "ops/x CPU", "ops/x RSS",
         "tmux CPU-s/min", "procs/threads", "other load %", "note"],
        rows,
    )  # fmt: skip
    h.print_errors(results)
    if ours is not None:
        cpu_ok = ours.cpu_s_per_min <= TARGET_CPU_PER_MIN
        rss_ok = ours.peak_rss_mb <= TARGET_RSS_MB
        print(
            f"\nopsconsole: CPU {ours.cpu_s_per_min:.3f} s/min "
            f"({'meets' if cpu_ok else 'misses'} <= {TARGET_CPU_PER_MIN}), "
            f"peak RSS {ours.peak_rss_mb:.1f} MB ({'meets' if rss_ok else 'misses'} "
            f"<= {TARGET_RSS_MB:g})"
        )
    path = h.write_json(
        "idle",
        {
            "kind": "idle",
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "interval_s": args.interval,
            "targets": {"cpu_s_per_min": TARGET_CPU_PER_MIN, "rss_mb": TARGET_RSS_MB},
            "machine": started,
            "programs": results,
        },
        args.json,
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
