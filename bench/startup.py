"""Time from launch to the first full screen, for opsconsole and its peers, in one run.

Each launch gets a fresh tmux pane (160x45, see _harness). The clock starts just before
``respawn-pane`` and stops when a capture of the pane shows every marker of the program
(``--marker NAME=REGEX`` replaces them). Each program gets one untimed launch first, so the
page cache is warm for all alike, then ``--repeat`` timed ones; the table shows median and
minimum, and the ratio of opsconsole's to each peer's. ``python -c "import textual.app"`` is
timed too, as the floor any Textual app starts from.

    .venv/bin/python bench/startup.py [--repeat 5] [--only htop --only btop ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import _harness as h

PROGRAMS = ("opsconsole", "htop", "btop", "glances", "toolong")
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
    h.add_quiet_options(parser, PAUSE)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
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
