"""Cost of watching many containers, and how fast a state change reaches the pane.

With N running containers (busybox ``sleep``, ``--network none``) on a private podman service
(its own storage, removed at the end), this runs the container source and the container list
pane in a headless Textual app in this process, as the console would (the hub, the pump, the
pane shown), and measures:

- CPU seconds per minute of this process (the source, its stats threads and the pane), and of
  the podman service it talks to (the stats streams cost the engine too);
- the time from running ``podman stop -t 0 X`` to the pane's row showing X exited.

Not the full console yet: the app does not mount the container pane at the time of writing,
so the figure is the source + pane in a test app. Targets: <= 2 CPU-s/min at 200 containers,
state change visible within 1 s.

    .venv/bin/python bench/containers.py                 # 50 and 200 containers, ~4 min
    .venv/bin/python bench/containers.py --counts 20 --window 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psutil
from textual.app import App, ComposeResult

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opsconsole.hub import Hub  # noqa: E402
from opsconsole.sources.containers import ContainerControl, ContainerSource, make_engine  # noqa: E402
from opsconsole.sources.engine import ContainersConfig, EngineSpec, Runtime  # noqa: E402
from opsconsole.widgets.container_list import COLUMNS, ContainerListPane  # noqa: E402
from opsconsole.widgets.pane import EventPane  # noqa: E402
from tests.containers.conftest import Podman, private_podman  # noqa: E402

RESULTS = REPO / "bench" / "results"


class BenchApp(App[None]):
    """The container list pane fed by one container source through a hub."""

    def __init__(self, spec: EngineSpec) -> None:
        super().__init__()
        config = ContainersConfig()
        self.source = ContainerSource(make_engine(spec, config), config, host="bench")
        self.hub = Hub([self.source], host="bench")
        self.control = ContainerControl([self.source])

    def compose(self) -> ComposeResult:
        yield ContainerListPane(self.control)

    async def on_mount(self) -> None:
        self._sub = self.hub.subscribe()
        await self.hub.start()
        self.run_worker(self._pump())

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        last = 0.0
        while not self._sub.closed:
            await self._sub.wait()
            # The console's pump: at most one delivery per 0.1 s.
            if (wait := last + 0.1 - loop.time()) > 0:
                await asyncio.sleep(wait)
            batch = self._sub.drain()
            last = loop.time()
            for pane in self.screen.query(EventPane):
                pane.consume(batch)

    async def on_unmount(self) -> None:
        await self.hub.stop()

    def state_of(self, name: str) -> str | None:
        """The STATE cell of ``name``'s row as the pane shows it now."""
        pane = self.query_one(ContainerListPane)
        keys = [column.key for column in COLUMNS]
        name_at, state_at = keys.index("name"), keys.index("state")
        for row in pane.table.rows:
            if row.cells[name_at] == name:
                return row.cells[state_at]
        return None


def start_containers(podman: Podman, names: list[str]) -> None:
    def run(name: str) -> None:
        podman(
            "run", "-d", "--name", name, "--network", "none", "localhost/bb:latest", "sleep", "3600"
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, names))


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


async def measure(podman: Podman, runtime: Runtime, names: list[str], window: float) -> dict:
    sock = podman.root / "podman.sock"
    service = psutil.Process(podman.services[sock].pid)
    app = BenchApp(EngineSpec(runtime, f"unix://{sock}"))
    me = psutil.Process()
    async with app.run_test(size=(160, 45), headless=True) as pilot:
        deadline = time.monotonic() + 60
        while sum(app.state_of(n) == "running" for n in names) < len(names):
            if time.monotonic() > deadline:
                raise SystemExit("the pane never showed every container running")
            await pilot.pause(0.2)
        await asyncio.sleep(5)  # stats streams open, first batches drawn
        mine, engine, started = cpu_seconds(me), cpu_seconds(service), time.monotonic()
        await asyncio.sleep(window)
        elapsed = time.monotonic() - started
        console_cpu = (cpu_seconds(me) - mine) / elapsed * 60
        engine_cpu = (cpu_seconds(service) - engine) / elapsed * 60
        latencies = []
        for name in names[:3]:
            began = time.monotonic()
            await asyncio.to_thread(podman, "stop", "-t", "0", name)
            command = time.monotonic() - began
            while app.state_of(name) != "exited":
                if time.monotonic() - began > 10:
                    raise SystemExit(f"the pane never showed {name} stopped")
                await asyncio.sleep(0.005)
            latencies.append((time.monotonic() - began, command))
            await asyncio.to_thread(podman, "start", name)
    return {
        "containers": len(names),
        "runtime": runtime,
        "window_s": round(elapsed, 1),
        "console_cpu_s_per_min": round(console_cpu, 2),
        "engine_cpu_s_per_min": round(engine_cpu, 2),
        "stop_to_pane_s": [round(total, 3) for total, _ in latencies],
        "stop_command_s": [round(command, 3) for _, command in latencies],
        "stop_to_pane_median_s": round(statistics.median(t for t, _ in latencies), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="50,200", help="container counts (default 50,200)")
    parser.add_argument("--window", type=float, default=30.0, help="seconds measured per count")
    parser.add_argument(
        "--runtime",
        action="append",
        choices=["podman", "docker"],
        help="SDK to measure (repeatable; default podman)",
    )
    parser.add_argument("--json", type=Path, help="where to write the results")
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.counts.split(","))
    runtimes: list[Runtime] = args.runtime or ["podman"]
    results = []
    with private_podman() as podman:
        names: list[str] = []
        for count in counts:
            more = [f"bench{i}" for i in range(len(names), count)]
            print(f"starting {len(more)} containers…", file=sys.stderr)
            start_containers(podman, more)
            names += more
            for runtime in runtimes:
                result = asyncio.run(measure(podman, runtime, names, args.window))
                results.append(result)
                print(json.dumps(result), file=sys.stderr)
        print("cleaning up…", file=sys.stderr)
    print(
        f"{'containers':>10} {'sdk':>7} {'console CPU-s/min':>18} {'engine CPU-s/min':>17} "
        f"{'stop→pane (median)':>19}"
    )
    for r in results:
        print(
            f"{r['containers']:>10} {r['runtime']:>7} {r['console_cpu_s_per_min']:>18} "
            f"{r['engine_cpu_s_per_min']:>17} {r['stop_to_pane_median_s']:>18}s"
        )
    print("targets: <= 2 CPU-s/min at 200 containers; stop visible within 1 s")
    out = args.json or RESULTS / f"containers-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
