"""Time from launch to the first full screen, for opsconsole and its peers, in one run.

Each launch gets a fresh tmux pane (160x45, see _harness). The clock starts just before
``respawn-pane`` and stops when a capture of the pane shows every marker of the program
(``--marker NAME=REGEX`` replaces them). Each program gets one untimed launch first, so the
page cache is warm for all alike, then ``--repeat`` timed ones; the table shows median and
minimum, and the ratio of opsconsole's to each peer's. ``python -c "import textual.app"`` is
timed too, as the floor any Textual app starts from.

    .venv/bin/python bench/startup.py [--repeat 5] [--only htop --only btop ...]

``--instructions`` counts instead (callgrind; ``--only opsconsole`` or ``--only "opsconsole
logs FILE"`` counts that one and its floor): the instructions from launch to the first frame
of ``opsconsole`` (showing the process table) and of ``opsconsole logs FILE`` (showing the
file's last line, FILE made as bench/log_view.py makes it), beside ``python -c "import
textual.app"`` and the log bench's bare Textual frame of the same file: figures that the load
of a shared machine barely moves, where its wall-clock times drift. Each program runs in a
160x45 tmux pane and exits at that frame; runs are one at a time (two at once slow each other,
and the event loop then runs more timers before the frame). The console's count still varies
by a few million with what its sources deliver before the frame.

    .venv/bin/python bench/startup.py --instructions [--repeat 3] [--mb 100]
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import _harness as h

PROGRAMS = ("opsconsole", "htop", "btop", "glances", "toolong")
FLOORS = {"opsconsole": "import textual.app", "opsconsole logs FILE": "textual floor frame"}
"""``--instructions``: each program counted and the floor its ratio is taken to."""
TARGET_SECONDS = 0.4
PAUSE = 1.0
"""The issue's target for opsconsole's first full screen."""


@dataclass
class Timing:
    """Seconds of each timed run."""

    runs_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return h.median(self.runs_s)

    @property
    def min_s(self) -> float:
        return min(self.runs_s)

    def as_json(self) -> dict[str, object]:
        return {"median_s": self.median_s, "min_s": self.min_s, "runs_s": self.runs_s}


@dataclass
class Launches:
    """The timed launches of one program."""

    ready: Timing
    first_output: Timing
    other_load_percent: float
    """The highest load of the rest of the machine just before a launch, % of all cores."""
    screen: str
    """The last ready screen."""


def time_launches(program: h.Program, args: argparse.Namespace) -> Launches:
    """Launch ``program`` 1 + repeat times; LaunchError if a launch fails."""
    ready, first = Timing(), Timing()
    screen = ""
    load = 0.0
    for attempt in range(args.repeat + 1):
        load = max(load, h.quiet_period(args.pause, args.max_load, args.max_wait))
        with h.Pane(program, args.env) as pane:
            pane.launch()
            seconds, shown, screen = pane.wait_ready(args.timeout, args.poll)
        if attempt:  # the first launch only warms the caches
            ready.runs_s.append(seconds)
            first.runs_s.append(seconds if shown is None else shown)
    return Launches(ready, first, load, screen)


def time_command(argv: list[str], env: dict[str, str], repeat: int) -> Timing:
    """Wall time of a command, one warm-up plus ``repeat`` runs."""
    timing = Timing()
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=env)
        if attempt:
            timing.runs_s.append(time.perf_counter() - start)
    return timing


# Run before the program: exit at the first write to the terminal holding the marker.
_AT_FRAME = """
import os, sys
from textual.drivers import linux_driver
_write = linux_driver.LinuxDriver.write
def _exit_at_frame(self, data):
    _write(self, data)
    if {marker!r} in data:
        os._exit(0)
linux_driver.LinuxDriver.write = _exit_at_frame
"""
_OPSCONSOLE = "from opsconsole.cli import main\nsys.exit(main({argv!r}))\n"


def callgrind(script: str, python: str, home: Path) -> int:
    """Instructions ``python script`` executes in a 160x45 tmux pane until it exits."""
    with tempfile.TemporaryDirectory(prefix="opsc-ir-") as folder:
        code, errors, sock = Path(folder, "run.py"), Path(folder, "err"), Path(folder, "sock")
        code.write_text(script)
        command = shlex.join(
            ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", f"TERM={h.TERM}", "LANG=C.UTF-8",
             "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, str(code)]
        ) + f" 2>{shlex.quote(str(errors))}"  # fmt: skip
        tmux = ["tmux", "-S", str(sock), "-f", "/dev/null"]
        subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "45", command], check=True)
        while subprocess.run([*tmux, "has-session"], capture_output=True).returncode == 0:
            time.sleep(0.2)
        found = re.search(r"Collected : (\d+)", errors.read_text())
        if found is None:
            raise h.LaunchError(f"no count from callgrind:\n{errors.read_text()[-2000:]}")
        return int(found.group(1))


def instructions(args: argparse.Namespace) -> int:
    """The ``--instructions`` mode: counts, their ratios, and a JSON file."""
    sys.path.insert(0, str(h.BENCH_DIR))
    from log_view import FLOOR, make_file

    path = Path(f"/tmp/opsconsole-bench-syslog-{args.mb}mb.log")
    last = f"request {make_file(path, args.mb) - 1:010d}"  # on the file's last line
    floor = FLOOR.replace("sys.argv[1]", repr(str(path)))
    scripts = {
        "import textual.app": "import textual.app\n",
        "textual floor frame": _AT_FRAME.format(marker=last) + floor,
        "opsconsole": _AT_FRAME.format(marker="PID") + _OPSCONSOLE.format(argv=["--refresh", "1"]),
        "opsconsole logs FILE": _AT_FRAME.format(marker=last)
        + _OPSCONSOLE.format(argv=["logs", str(path)]),
    }
    if args.only:  # e.g. --only opsconsole: that program and the floor its ratio is taken to
        wanted = set(args.only) | {FLOORS[name] for name in args.only if name in FLOORS}
        scripts = {name: script for name, script in scripts.items() if name in wanted}
    counts: dict[str, list[int]] = {name: [] for name in scripts}
    with tempfile.TemporaryDirectory(prefix="opsc-ir-home-") as home:
        for _ in range(args.repeat):
            for name, script in scripts.items():
                print(f"callgrind: {name} ...", file=sys.stderr, flush=True)
                counts[name].append(callgrind(script, args.python, Path(home)))
    median = {name: statistics.median(runs) for name, runs in counts.items()}
    ratios = {
        name: median[name] / median[floor] for name, floor in FLOORS.items() if name in median
    }
    print(f"\ninstructions to the first frame, median of {args.repeat} (millions; {path.name})")
    h.print_table(
        ["program", "median", "runs", "ratio"],
        [
            [
                name,
                f"{median[name] / 1e6:.1f}",
                " ".join(f"{run / 1e6:.1f}" for run in runs),
                f"{ratios[name]:.3f}x" if name in ratios else "",
            ]
            for name, runs in counts.items()
        ],
    )
    print("ratios: opsconsole / import textual.app; opsconsole logs / textual floor frame")
    result = h.write_json(
        "startup-instructions",
        {"kind": "startup-instructions", "file": str(path), "machine": h.machine(),
         "instructions": counts, "median": median, "ratios": ratios},
        args.json,
    )  # fmt: skip
    print(f"results: {result}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed launches each (default 5)")
    parser.add_argument("--opsconsole", type=Path, default=h.DEFAULT_OPSCONSOLE)
    parser.add_argument("--only", action="append", metavar="NAME", help="measure only these")
    parser.add_argument("--marker", action="append", default=[], metavar="NAME=REGEX")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for every program")  # fmt: skip
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between captures")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for ready")
    parser.add_argument("--python", default=sys.executable, help="python for the import floor")
    parser.add_argument("--json", type=Path, help="where to write results")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions instead (callgrind)"
    )
    parser.add_argument("--mb", type=int, default=100, help="--instructions: MB of the log file")
    h.add_quiet_options(parser, PAUSE)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.instructions:
        return instructions(args)
    programs = h.programs_from(args)

    started = h.machine()
    results: dict[str, dict[str, object]] = {}
    launched: dict[str, Launches] = {}
    for program in h.select(programs, args.only or PROGRAMS):
        info: dict[str, object] = {
            "argv": list(program.argv),
            "markers": list(program.markers),
            "version": h.program_version(program),
        }
        if program.missing:
            info["error"] = program.missing
        else:
            print(f"timing {program.name} ...", file=sys.stderr, flush=True)
            try:
                launches = launched[program.name] = time_launches(program, args)
            except h.LaunchError as error:
                info["error"] = str(error)
            else:
                info.update(
                    launches.ready.as_json(),
                    first_output=launches.first_output.as_json(),
                    other_load_percent=launches.other_load_percent,
                    screen=launches.screen,
                )
        results[program.name] = info
    floor = {
        f"python -c {statement!r}": time_command(
            [args.python, "-c", statement], h.base_env(args.env), args.repeat
        )
        for statement in ("pass", "import textual.app")
    }

    ours = launched["opsconsole"].ready.median_s if "opsconsole" in launched else None

    def row(name: str, timing: Timing, launches: Launches | None) -> list[str]:
        return [
            name,
            f"{timing.median_s:.3f}",
            f"{timing.min_s:.3f}",
            f"{launches.first_output.median_s:.3f}" if launches else "",
            "" if name == "opsconsole" else h.ratio(ours, timing.median_s),
            f"{launches.other_load_percent:.1f}" if launches else "",
            "",
        ]

    rows = [
        row(name, launched[name].ready, launched[name])
        if name in launched
        else [name, "-", "-", "-", "-", "-", "failed, see below"]
        for name in results
    ]
    rows += [row(name, timing, None) for name, timing in floor.items()]
    print(f"\nstartup to first full screen, {args.repeat} launches each (seconds)")
    h.print_table(
        ["program", "median", "min", "1st output", "opsconsole/x", "other load %", "note"], rows
    )
    h.print_errors(results)
    if ours is not None:
        verdict = "meets" if ours <= TARGET_SECONDS else "misses"
        print(f"\nopsconsole {verdict} the target of {TARGET_SECONDS} s (median {ours:.3f} s)")
    path = h.write_json(
        "startup",
        {
            "kind": "startup",
            "repeat": args.repeat,
            "poll_s": args.poll,
            "target_s": TARGET_SECONDS,
            "machine": started,
            "programs": results,
            "python_floor": {
                "python": args.python,
                **{name: timing.as_json() for name, timing in floor.items()},
            },
        },
        args.json,
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
