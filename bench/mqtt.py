"""MQTT: alert ingest under a flood, the agent's CPU cost, and a fleet of 100 simulated hosts.

Everything talks to a private mosquitto started here on a free loopback port (stopped at the
end); publishers run in their own processes, so the figures are the consumer's alone.

1. ingest: ``mosquitto_pub`` offers ``--flood`` alert messages at ``--rate`` a second.
   Measured in this process: the source pipeline alone (AlertSource -> Hub -> a subscriber) and the
   alerts pane in a headless Textual app fed the way the console feeds it (batches every
   0.1 s). Reported: messages the source converted per second, what it dropped (its rate gate
   and its bounded queue, as the pane shows), and the event loop's worst and 99th-percentile
   lag, i.e. how long a key press would have waited. The pipeline is run once more with its
   gate open: whether it keeps up with the whole offer (nothing dropped) or not.
2. agent: ``python -m opsconsole agent`` publishing this host for ``--agent-seconds``; its CPU
   seconds per minute (process tree), and messages and bytes published per minute.
3. fleet: a publisher speaking the agents' topic scheme for ``--hosts`` hosts (presence, a host
   sample and a 50-row process table per host every 5 s, retained) and the fleet pane in a
   headless app: seconds until every host is on screen, and the console's CPU seconds per
   minute while it follows them.

No peer is named for these in the issue, so no peer runs. Results go to
``bench/results/mqtt-<timestamp>.json`` (``--json PATH`` to choose).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import _harness as h
import psutil

sys.path.insert(0, str(h.REPO))

from opsconsole.hub import Hub
from opsconsole.sources.events import (
    HostPresence,
    HostSample,
    ProcessRow,
    ProcessTable,
    encode,
)
from opsconsole.sources.fleet import FleetSource
from opsconsole.sources.mqtt_alerts import AlertSource
from opsconsole.sources.mqtt_link import (
    PRESENCE,
    MqttSettings,
    connect,
    disconnect,
    fleet_topic,
)
from opsconsole.widgets.alerts import AlertsPane
from opsconsole.widgets.fleet import FleetPane
from tests.mqtt.conftest import Broker, free_port

# --- publishers (run as subprocesses of this script) ---------------------------------------


def publish_flood(port: int, count: int, rate: float) -> float:
    """``count`` alert messages at ``rate`` a second, through ``mosquitto_pub -l`` (C, so the
    publisher is not the bottleneck), fed in 10 ms slices; the seconds the offer took."""
    publisher = subprocess.Popen(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "alerts/flood", "-l"],
        stdin=subprocess.PIPE,
    )
    assert publisher.stdin is not None
    per_slice = max(1, round(rate / 100))
    sent, start = 0, time.monotonic()
    while sent < count:
        lines = []
        for _ in range(min(per_slice, count - sent)):
            lines.append(
                f'{{"severity":"critical","summary":"flood {sent % 50}","host":"h{sent % 7}"}}\n'
            )
            sent += 1
        publisher.stdin.write("".join(lines).encode())
        publisher.stdin.flush()
        ahead = start + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    elapsed = time.monotonic() - start
    publisher.stdin.close()
    publisher.wait(30)
    return elapsed


def _processes(n: int) -> tuple[ProcessRow, ...]:
    return tuple(
        ProcessRow(pid=1000 + i, user="app", name=f"worker{i}", command=f"/usr/bin/worker --id {i}",
                   state="S", cpu_percent=float(i % 13), rss=(i + 1) << 20)
        for i in range(n)
    )  # fmt: skip


async def simulate_fleet(port: int, hosts: int, seconds: float, every: float = 5.0) -> None:
    """``hosts`` agents' worth of messages, as the agent publishes them, for ``seconds``."""
    client = await connect(MqttSettings(host="127.0.0.1", port=port))
    rows = _processes(50)
    names = [f"sim-{i:03}" for i in range(hosts)]
    for name in names:
        presence = HostPresence(ts=time.time(), host=name, source=f"agent:{name}", online=True)
        await client.publish(fleet_topic(name, PRESENCE), encode(presence), qos=1, retain=True)
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        start = time.monotonic()
        for i, name in enumerate(names):
            now = time.time()
            sample = HostSample(ts=now, host=name, source="host", cpu_count=4,
                                cpu_percent=float((i + tick) % 100), mem_percent=50.0,
                                load=(1.0, 1.0, 1.0))  # fmt: skip
            table = ProcessTable(ts=now, host=name, source="host", rows=rows, total=300)
            for event in (sample, table):
                kind = str(event.__struct_config__.tag)
                await client.publish(fleet_topic(name, kind, "host"), encode(event), retain=True)
            # Spread the hosts over the period, as real agents are.
            await asyncio.sleep(max(0.0, start + every * (i + 1) / hosts - time.monotonic()))
        tick += 1
    for name in names:  # leave no retained state behind on the private broker
        await client.publish(fleet_topic(name, PRESENCE), b"", retain=True)
    await disconnect(client)


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, *args])


# --- measurements --------------------------------------------------------------------------


class LagProbe:
    """How late the event loop wakes a 10 ms sleeper: what a key press would wait."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - before - 0.01)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> dict[str, float]:
        if self._task:
            self._task.cancel()
        lags = sorted(self.lags) or [0.0]
        return {
            "lag_max_ms": round(lags[-1] * 1000, 1),
            "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1 if len(lags) > 1 else 0] * 1000, 1),
        }


async def ingest(port: int, count: int, rate: float, *, pane: bool, gate: float | None) -> dict:
    """One flood into an AlertSource, with or without the alerts pane."""
    source = AlertSource(MqttSettings(host="127.0.0.1", port=port))
    if gate is not None:
        source.rate = gate
    hub = Hub([source], host="bench")
    subscription = hub.subscribe(maxlen=4096, kinds=["alert"])
    received = 0
    probe = LagProbe()
    cpu_before = time.process_time()

    async def consume(deliver) -> None:
        nonlocal received
        while not subscription.closed:
            batch = await subscription.batch()
            received += len(batch)
            deliver(batch)
            await asyncio.sleep(0.1)  # the console's BATCH_INTERVAL

    async def flood() -> tuple[float, float]:
        """Seconds the publisher took to offer the flood, and until the source was quiet."""
        await hub.start()
        while hub.statuses()[0].state != "live":
            await asyncio.sleep(0.02)
        probe.start()
        start = time.monotonic()
        offer = await asyncio.to_thread(publish_flood, port, count, rate)
        # Until nothing more arrives: what was in flight is converted or counted as dropped.
        seen, quiet = -1, 0
        while quiet < 3 and time.monotonic() - start < offer + 15:
            await asyncio.sleep(0.2)
            now_seen = received + source.dropped
            quiet = quiet + 1 if now_seen == seen else 0
            seen = now_seen
        return offer, time.monotonic() - start - 0.6

    if pane:
        from textual.app import App, ComposeResult

        class Bench(App[None]):
            def compose(self) -> ComposeResult:
                yield AlertsPane()

        app = Bench()
        async with app.run_test(size=(160, 45)):
            widget = app.query_one(AlertsPane)
            consumer = asyncio.create_task(consume(widget.consume))
            offer, elapsed = await flood()
    else:
        consumer = asyncio.create_task(consume(lambda batch: None))
        offer, elapsed = await flood()
    lag = probe.stop()
    dropped = source.dropped
    await hub.stop()
    consumer.cancel()
    return {
        "mode": "alerts pane (headless app)" if pane else "source pipeline",
        "gate_per_s": source.rate,
        "offered": count,
        "offered_per_s": round(count / offer),
        "offer_s": round(offer, 2),
        "until_quiet_s": round(elapsed, 2),
        "converted_per_s": round(received / elapsed),
        "converted": received,
        "dropped": dropped,
        "not_delivered": count - received - dropped,
        "cpu_s": round(time.process_time() - cpu_before, 2),
        **lag,
    }


def tree_cpu(process: psutil.Process) -> float:
    total = 0.0
    for proc in (process, *process.children(recursive=True)):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


async def agent_cost(port: int, seconds: float, warmup: float = 5.0) -> dict:
    """The agent's CPU and traffic per minute, publishing this host every 5 s."""
    counter = FleetSource(MqttSettings(host="127.0.0.1", port=port), id="counter")
    hub = Hub([counter], host="bench")
    sub = hub.subscribe(maxlen=100_000)
    await hub.start()
    with tempfile.TemporaryDirectory() as home:
        agent = subprocess.Popen(
            [sys.executable, "-m", "opsconsole", "agent", "--mqtt", f"mqtt://127.0.0.1:{port}",
             "--host", "bench-agent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "HOME": home, "XDG_CONFIG_HOME": home},
        )  # fmt: skip
        process = psutil.Process(agent.pid)
        await asyncio.sleep(warmup)
        sub.drain()
        before = tree_cpu(process)
        await asyncio.sleep(seconds)
        used = tree_cpu(process) - before
        events = [e for e in sub.drain() if e.host == "bench-agent"]
        rss = process.memory_info().rss
        agent.terminate()
        agent.wait(10)
    await hub.stop()
    size = sum(len(encode(e)) for e in events)
    return {
        "seconds": seconds,
        "cpu_s_per_min": round(used / seconds * 60, 3),
        "messages_per_min": round(len(events) / seconds * 60),
        "kib_per_min": round(size / 1024 / seconds * 60, 1),
        "rss_mb": round(rss / 1e6, 1),
    }


async def fleet_view(port: int, hosts: int, seconds: float) -> dict:
    """The fleet pane following ``hosts`` simulated hosts."""
    from textual.app import App, ComposeResult

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield FleetPane()

    source = FleetSource(MqttSettings(host="127.0.0.1", port=port))
    hub = Hub([source], host="bench")
    sub = hub.subscribe(maxlen=4096)
    app = Bench()
    probe = LagProbe()
    async with app.run_test(size=(160, 45)):
        pane = app.query_one(FleetPane)
        await hub.start()

        async def pump() -> None:
            while not sub.closed:
                pane.consume(await sub.batch())
                await asyncio.sleep(0.1)

        pumping = asyncio.create_task(pump())
        start = time.monotonic()
        cpu_before = time.process_time()
        probe.start()
        publisher = spawn("--simulate-fleet", str(port), str(hosts), str(seconds))
        all_seen = None
        while publisher.poll() is None:
            if all_seen is None and sum(h.sample is not None for h in pane.hosts.values()) >= hosts:
                all_seen = time.monotonic() - start
            await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu_before
        elapsed = time.monotonic() - start
        lag = probe.stop()
        pumping.cancel()
        await hub.stop()
        shown = pane.table.row_count
    return {
        "hosts": hosts,
        "seconds": round(elapsed, 1),
        "all_hosts_shown_after_s": None if all_seen is None else round(all_seen, 2),
        "rows_shown": shown,
        "console_cpu_s_per_min": round(cpu / elapsed * 60, 2),
        **lag,
    }


# --- the report ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=10_000, help="messages offered (10000)")
    parser.add_argument("--rate", type=float, default=10_000, help="offered per second (10000)")
    parser.add_argument("--agent-seconds", type=float, default=60.0, help="agent window (60)")
    parser.add_argument("--hosts", type=int, default=100, help="simulated hosts (100)")
    parser.add_argument("--fleet-seconds", type=float, default=30.0, help="fleet window (30)")
    parser.add_argument("--json", type=Path, help="where to write results")
    parser.add_argument("--simulate-fleet", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.simulate_fleet:
        port, hosts, seconds = args.simulate_fleet
        asyncio.run(simulate_fleet(int(port), int(hosts), float(seconds)))
        return 0

    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        broker = Broker(Path(directory), f"listener {port} 127.0.0.1\nallow_anonymous true\n",
                        [port])  # fmt: skip
        broker.start()
        try:
            print("ingest ...", file=sys.stderr)
            runs = [
                asyncio.run(ingest(port, args.flood, args.rate, pane=False, gate=None)),
                asyncio.run(ingest(port, args.flood, args.rate, pane=True, gate=None)),
                asyncio.run(ingest(port, args.flood, args.rate, pane=False, gate=1e9)),
            ]
            print(f"agent for {args.agent_seconds:g} s ...", file=sys.stderr)
            agent = asyncio.run(agent_cost(port, args.agent_seconds))
            broker.stop()  # forget the agent's retained state: the fleet is the simulated one
            broker.start()
            print(f"fleet of {args.hosts} for {args.fleet_seconds:g} s ...", file=sys.stderr)
            fleet = asyncio.run(fleet_view(port, args.hosts, args.fleet_seconds))
        finally:
            broker.stop()

    print(f"\ningest: {args.flood} alert messages offered at {args.rate:g}/s")
    h.print_table(
        ["consumer", "gate/s", "offered/s", "converted/s", "dropped", "not delivered", "CPU-s",
         "lag max ms", "lag p99 ms"],
        [[r["mode"], f"{r['gate_per_s']:g}", str(r["offered_per_s"]), str(r["converted_per_s"]),
          str(r["dropped"]), str(r["not_delivered"]), str(r["cpu_s"]), str(r["lag_max_ms"]),
          str(r["lag_p99_ms"])]
         for r in runs],
    )  # fmt: skip
    print(f"\nagent ({args.agent_seconds:g} s, --interval 5):")
    h.print_table(
        ["CPU-s/min", "messages/min", "KiB/min", "RSS MB"],
        [[str(agent["cpu_s_per_min"]), str(agent["messages_per_min"]), str(agent["kib_per_min"]),
          str(agent["rss_mb"])]],
    )  # fmt: skip
    print(f"\nfleet view, {args.hosts} simulated hosts:")
    h.print_table(
        ["all shown after s", "rows", "console CPU-s/min", "lag max ms", "lag p99 ms"],
        [[str(fleet["all_hosts_shown_after_s"]), str(fleet["rows_shown"]),
          str(fleet["console_cpu_s_per_min"]), str(fleet["lag_max_ms"]), str(fleet["lag_p99_ms"])]],
    )  # fmt: skip
    path = h.write_json(
        "mqtt",
        {"kind": "mqtt", "machine": h.machine(), "ingest": runs, "agent": agent, "fleet": fleet},
        args.json,
    )
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
