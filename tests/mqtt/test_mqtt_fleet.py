"""The real agent, as a subprocess, seen by the fleet source through a real mosquitto."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.sources.events import Alert, HostPresence, HostSample, ProcessTable, encode
from opsconsole.sources.fleet import FleetSource
from opsconsole.sources.mqtt_alerts import AlertSource
from opsconsole.sources.mqtt_link import fleet_topic
from tests.mqtt.conftest import Broker
from tests.mqtt.helpers import live, publish, running
from tests.services import DIES_WITH_TESTS

AGENT = [sys.executable, "-m", "opsconsole", "agent"]
"""The agent as an engineer (or systemd) runs it."""


class Agents:
    """Agent subprocesses started by one test, all stopped at its end."""

    def __init__(self, broker: Broker, directory: Path) -> None:
        self.broker = broker
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, host: str, *extra: str, env: dict[str, str] | None = None):
        log = (self.directory / f"agent-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [*DIES_WITH_TESTS, *AGENT, "--mqtt", f"mqtt://127.0.0.1:{self.broker.port}",
             "--host", host, "--interval", "0.5", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,  # headless: no terminal at all
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.processes.append(process)
        return process

    def log(self, index: int) -> str:
        return (self.directory / f"agent-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)


@pytest.fixture
def agents(broker: Broker, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(broker, tmp_path)
    yield started
    started.stop_all()


def presence(seen, host: str) -> list[HostPresence]:
    return [p for p in seen.of(HostPresence) if p.host == host]


async def test_agent_host_reaches_the_fleet_then_goes_offline_cleanly(
    broker: Broker, agents: Agents
) -> None:
    fleet = FleetSource(broker.settings())
    async with running([fleet]) as seen:
        await live(seen, fleet.id)
        agent = agents.start("agent-a")
        await seen.until(
            lambda: (
                any(s.host == "agent-a" for s in seen.of(HostSample))
                and any(t.host == "agent-a" for t in seen.of(ProcessTable))
            ),
            timeout=20,
        )
        sample = next(s for s in seen.of(HostSample) if s.host == "agent-a")
        assert sample.source == "fleet:agent-a/host"
        assert sample.cpu_count and sample.mem_total  # real figures of this host
        assert presence(seen, "agent-a")[-1].online
        assert seen.hub.latest("host.sample", "fleet:agent-a/host") is not None
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0
        await seen.until(lambda: not presence(seen, "agent-a")[-1].online)
        assert "marked offline" in agents.log(0)


async def test_late_console_sees_retained_state_and_the_last_will(
    broker: Broker, agents: Agents
) -> None:
    agent = agents.start("agent-b")
    probe = FleetSource(broker.settings(), id="probe")
    async with running([probe]) as seen:
        await seen.until(lambda: any(s.host == "agent-b" for s in seen.of(HostSample)), 20)
    # A console that connects now gets the retained state at once.
    late = FleetSource(broker.settings(), id="late")
    async with running([late]) as seen:
        await seen.until(
            lambda: (
                any(s.host == "agent-b" for s in seen.of(HostSample))
                and presence(seen, "agent-b")
                and presence(seen, "agent-b")[-1].online
            )
        )
        agent.kill()  # no goodbye: the broker publishes the last will
        agent.wait(5)
        await seen.until(lambda: not presence(seen, "agent-b")[-1].online, timeout=10)


async def test_two_agents_under_one_name_are_a_conflict(broker: Broker, agents: Agents) -> None:
    fleet = FleetSource(broker.settings())
    async with running([fleet]) as seen:
        await live(seen, fleet.id)
        agents.start("twin")
        await seen.until(lambda: presence(seen, "twin") and presence(seen, "twin")[-1].online, 20)
        assert presence(seen, "twin")[-1].conflict is None
        second = agents.start("twin")
        await seen.until(lambda: presence(seen, "twin")[-1].conflict is not None, 20)
        assert "2 agents publish as twin" in (presence(seen, "twin")[-1].conflict or "")
        second.send_signal(signal.SIGTERM)
        second.wait(10)
        await seen.until(lambda: presence(seen, "twin")[-1].conflict is None, 10)
        assert presence(seen, "twin")[-1].online  # the first is still there


async def test_events_claiming_another_host_are_refused_as_a_conflict(broker: Broker) -> None:
    fleet = FleetSource(broker.settings())
    forged = HostSample(ts=1.0, host="db-1", source="host", cpu_percent=99.0)
    honest = HostSample(ts=2.0, host="web-1", source="host", cpu_percent=5.0)
    async with running([fleet]) as seen:
        await live(seen, fleet.id)
        await publish(
            broker.settings(),
            [
                (fleet_topic("web-1", "host.sample", "host"), encode(honest)),
                (fleet_topic("web-1", "host.sample", "host"), encode(forged)),
            ],
        )
        await seen.until(lambda: any(p.conflict for p in presence(seen, "web-1")))
        assert "say they are from db-1" in (presence(seen, "web-1")[-1].conflict or "")
        # The forgery is dropped.
        assert [s.cpu_percent for s in seen.of(HostSample) if s.host in ("web-1", "db-1")] == [5.0]


async def test_garbage_on_the_agents_topics_is_counted_not_fatal(broker: Broker) -> None:
    fleet = FleetSource(broker.settings())
    honest = HostSample(ts=2.0, host="web-2", source="host", cpu_percent=7.0)
    async with running([fleet]) as seen:
        await live(seen, fleet.id)
        await publish(
            broker.settings(),
            [
                (fleet_topic("web-2", "host.sample", "host"), b"\xff\x00garbage"),
                (fleet_topic("web-2", "host.sample", "host"), b'{"kind": "host.sample"}'),
                (fleet_topic("web-2", "presence"), b"[1,2]"),
                (fleet_topic("web-2", "host.sample", "host"), encode(honest)),
            ],
        )
        await seen.until(lambda: any(s.host == "web-2" for s in seen.of(HostSample)))
        assert seen.status(fleet.id).state == "degraded"
        assert "unusable messages" in (seen.status(fleet.id).reason or "")
        assert fleet.bad == 3


async def test_agent_threshold_alerts_reach_the_alert_source(
    broker: Broker, agents: Agents
) -> None:
    alerts = AlertSource(broker.settings())
    async with running([alerts]) as seen:
        await live(seen, alerts.id)
        # A CPU threshold of 0 makes any real host alarming at once.
        agents.start(
            "hot",
            env={
                "OPSCONSOLE_THRESHOLDS_CPU_WARNING": "0",
                "OPSCONSOLE_THRESHOLDS_CPU_CRITICAL": "0",
            },
        )
        await seen.until(lambda: any(a.key == "hot/threshold:cpu" for a in seen.of(Alert)), 20)
        alert = next(a for a in seen.of(Alert) if a.key == "hot/threshold:cpu")
        assert alert.host == "hot" and alert.severity == "critical"
        assert alert.origin == "threshold:cpu" and "CPU busy" in alert.summary


async def test_agent_refused_by_the_broker_exits_with_a_clear_message(secure) -> None:
    process = await asyncio.create_subprocess_exec(
        *AGENT, "--mqtt", f"mqtt://127.0.0.1:{secure.password_port}",
        env={**os.environ, "OPSCONSOLE_MQTT_USERNAME": "ops", "OPSCONSOLE_MQTT_PASSWORD": "nope"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 1
    text = output.decode()
    assert "refused user 'ops'" in text and "nope" not in text
    assert text.count("refused") == 1  # one attempt, no retry storm


async def test_agent_refuses_a_password_in_the_url() -> None:
    process = await asyncio.create_subprocess_exec(
        *AGENT, "--mqtt", "mqtt://ops:pw@127.0.0.1:1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2 and b"OPSCONSOLE_MQTT_PASSWORD" in output


async def test_agent_and_fleet_both_come_back_after_a_broker_restart(
    own_broker: Broker, tmp_path: Path
) -> None:
    agents = Agents(own_broker, tmp_path)
    fleet = FleetSource(own_broker.settings())
    try:
        async with running([fleet]) as seen:
            await live(seen, fleet.id)
            agents.start("phoenix")
            await seen.until(lambda: any(s.host == "phoenix" for s in seen.of(HostSample)), 20)
            own_broker.kill()
            await seen.until(lambda: seen.status(fleet.id).state == "unavailable")
            own_broker.start()  # a fresh broker: no retained state, no subscriptions
            await seen.until(lambda: seen.status(fleet.id).state == "live", 15)
            after = len(seen.events)
            await seen.until(
                lambda: any(
                    isinstance(e, HostSample) and e.host == "phoenix" for e in seen.events[after:]
                ),
                20,
            )
            assert presence(seen, "phoenix")[-1].online
        assert "retrying in" in agents.log(0)
    finally:
        agents.stop_all()
