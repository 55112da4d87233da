"""The container sources and the control facade against the real podman service, both SDKs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from opsconsole.hub import Hub
from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.containers import (
    ABSENT_RETRY_MAX,
    RETRY_AFTER,
    ContainerControl,
    ContainerSource,
    ReadOnlyError,
    make_engine,
)
from opsconsole.sources.engine import ContainersConfig, EngineSpec, LogQuery
from opsconsole.sources.events import (
    ContainerAction,
    ContainerChange,
    ContainerInfo,
    ContainerList,
    ContainerStatsBatch,
    Event,
    LogLine,
    SourceState,
)
from opsconsole.sources.text import safe_text
from tests.containers.conftest import Podman
from tests.scripted import wait_for

FAST = ContainersConfig(relist_interval=2.0)


class Running:
    """A source opened and read in a task, its events gathered in order."""

    def __init__(self, source: ContainerSource) -> None:
        self.source = source
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            async for event in self.source.events():
                self.events.append(event)
        except BaseException as exc:
            self.error = exc
            raise

    def container(self, name: str) -> ContainerInfo | None:
        """The container as the latest snapshot shows it."""
        for event in reversed(self.events):
            if isinstance(event, ContainerList):
                return next((c for c in event.containers if c.name == name), None)
        return None

    async def id_of(self, name: str) -> str:
        """The id of ``name`` once the source lists it."""
        await self.until(lambda: self.container(name))
        return self.container(name).id  # type: ignore[union-attr]

    async def until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        await wait_for(lambda: bool(predicate()) or self.error is not None, timeout)
        if self.error is not None and not predicate():
            raise AssertionError(f"source failed: {self.error}")


@contextlib.asynccontextmanager
async def running(spec: EngineSpec, config: ContainersConfig = FAST) -> AsyncIterator[Running]:
    source = ContainerSource(make_engine(spec, config), config, host="test")
    await source.open()
    run = Running(source)
    run.task = asyncio.create_task(run._read())
    try:
        yield run
    finally:
        await source.close()
        run.task.cancel()
        with contextlib.suppress(BaseException):
            await run.task


@contextlib.asynccontextmanager
async def watching(
    podman: Podman,
    spec: EngineSpec,
    names: list[str],
    *command: str,
    options: tuple[str, ...] = (),
    wait: bool = False,
) -> AsyncIterator[tuple[Running, ContainerControl, str, str]]:
    """A container running ``command`` (waited for when ``wait``), watched by a running source,
    with the control over it: (run, control, name, id)."""
    name = podman.run(*command, options=options)
    names.append(name)
    if wait:
        podman("wait", name)
    async with running(spec) as run:
        yield run, ContainerControl([run.source]), name, await run.id_of(name)


async def test_list_shows_what_on_call_needs(podman: Podman, spec: EngineSpec, names: list[str]):
    steady = podman.run("sh", "-c", "while true; do echo tick; sleep 1; done")
    failed = podman.run("sh", "-c", "echo bye; exit 7")
    crash = podman.run("sh", "-c", "sleep 0.3; exit 3", options=("--restart", "always"))
    sick = podman.run("sleep", "600", options=("--health-cmd", "false", "--health-retries", "1"))
    # Engines refuse markup in names, not in labels (the panes' tests cover names too).
    marked = podman.run("sleep", "600", options=("--label", "team=[red]ops[/red]"))
    names += [steady, failed, crash, sick, marked]
    # No systemd here to time the probes: run the failing healthcheck as its timer would.
    podman("healthcheck", "run", sick, check=False)
    await asyncio.sleep(1.5)  # the crash loop restarts a few times
    async with running(spec) as run:
        await run.until(lambda: run.container(failed) and run.container(sick))
        info = run.container(steady)
        assert info is not None and info.state == "running" and info.started_at
        assert info.runtime == spec.runtime and info.engine == spec.source_id
        exited = run.container(failed)
        assert exited is not None and exited.state == "exited" and exited.exit_code == 7
        looping = run.container(crash)
        assert looping is not None and (looping.restarts or 0) >= 1
        unhealthy = run.container(sick)
        assert unhealthy is not None and unhealthy.health == "unhealthy"
        hostile = run.container(marked)
        assert hostile is not None and hostile.labels["team"] == "[red]ops[/red]"


async def test_state_change_seen_within_a_second(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    name = podman.run("sleep", "600")
    names.append(name)
    async with running(spec) as run:
        await run.until(lambda: run.container(name))
        started = time.monotonic()
        podman("kill", name)
        await run.until(
            lambda: any(
                isinstance(e, ContainerChange) and e.name == name and e.action == "die"
                for e in run.events
            )
        )
        await run.until(lambda: (c := run.container(name)) and c.state == "exited")
        assert time.monotonic() - started < 1.0
        die = next(
            e
            for e in run.events
            if isinstance(e, ContainerChange) and e.name == name and e.action == "die"
        )
        assert die.exit_code == 137


async def test_failing_healthcheck_turns_unhealthy_live(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    name = podman.run("sleep", "600", options=("--health-cmd", "false", "--health-retries", "1"))
    names.append(name)
    async with running(spec) as run:
        await run.until(lambda: run.container(name))
        assert run.container(name).health in (None, "starting")  # type: ignore[union-attr]
        # No systemd timer here: run the probe as the timer would.
        podman("healthcheck", "run", name, check=False)
        await run.until(
            lambda: any(
                isinstance(e, ContainerChange) and e.name == name and e.action == "health_status"
                for e in run.events
            )
        )
        await run.until(lambda: run.container(name).health == "unhealthy", 2)  # type: ignore[union-attr]


async def test_stats_stream_while_running_and_stop_after(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    name = podman.run("sleep", "600")
    names.append(name)
    async with running(spec) as run:
        id = await run.id_of(name)

        def stats() -> list:
            return [
                s
                for e in run.events
                if isinstance(e, ContainerStatsBatch)
                for s in e.stats
                if s.id == id
            ]

        await run.until(lambda: stats())
        assert (stats()[-1].mem_usage or 0) > 0
        assert id in run.source._workers
        podman("stop", "-t", "0", name)
        await run.until(lambda: id not in run.source._workers)


async def test_console_stops_and_starts_a_container(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    async with watching(
        podman, spec, names, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"
    ) as (run, control, name, id):
        action = await control.act(spec.source_id, id, name, "stop")
        assert action.ok and action.error is None
        flag = "--url" if spec.runtime == "podman" else "-H"
        assert action.command == f"{spec.runtime} {flag} {spec.url} stop {name}"
        await run.until(lambda: run.container(name).state == "exited")  # type: ignore[union-attr]
        await run.until(lambda: any(isinstance(e, ContainerAction) for e in run.events))
        action = await control.act(spec.source_id, id, name, "restart")
        assert action.ok
        await run.until(lambda: run.container(name).state == "running")  # type: ignore[union-attr]
        # An action that fails says why, and is recorded all the same.
        podman("rm", "-f", "-t", "0", name)
        action = await control.act(spec.source_id, id, name, "start")
        assert not action.ok and action.error


async def test_read_only_refuses_actions(podman: Podman, sock: Path, names: list[str]):
    name = podman.run("sleep", "600")
    names.append(name)
    spec = EngineSpec("podman", f"unix://{sock}")
    async with running(spec) as run:
        control = ContainerControl([run.source], read_only=True)
        id = await run.id_of(name)
        with pytest.raises(ReadOnlyError):
            await control.act(spec.source_id, id, name, "kill")
        await asyncio.sleep(0.5)
        assert run.container(name).state == "running"  # type: ignore[union-attr]
    assert "running" in podman("inspect", "--format", "{{.State.Status}}", name)


async def test_inspect_and_top(podman: Podman, sock: Path, names: list[str]):
    name = podman.run("sleep", "600", options=("--env", "SECRET=hunter2"))
    names.append(name)
    spec = EngineSpec("podman", f"unix://{sock}")
    async with running(spec) as run:
        control = ContainerControl([run.source])
        id = await run.id_of(name)
        doc = await control.inspect(spec.source_id, id)
        assert "SECRET=hunter2" in doc["Config"]["Env"]
        top = await control.top(spec.source_id, id)
        assert "PID" in top.titles and any("sleep" in " ".join(row) for row in top.rows)


async def _read_logs(
    control: ContainerControl,
    spec: EngineSpec,
    id: str,
    query: LogQuery,
    until: Callable[[list[LogLine]], bool],
    timeout: float = 10.0,
):
    lines: list[LogLine] = []
    dropped = 0

    async def read() -> None:
        nonlocal dropped
        async for batch in control.logs(spec.source_id, id, "x", query):
            lines.extend(batch.lines)
            dropped += batch.dropped
            if until(lines):
                return

    await asyncio.wait_for(read(), timeout)
    return lines, dropped


async def test_logs_follow_with_streams_and_timestamps(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    async with watching(
        podman,
        spec,
        names,
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo out $i; echo err $i >&2; sleep 0.2; done",
    ) as (_run, control, _name, id):
        lines, _ = await _read_logs(
            control, spec, id, LogQuery(follow=True, tail=2), lambda ls: len(ls) >= 8
        )
        assert {line.stream for line in lines} == {"stdout", "stderr"}
        assert all(line.text.startswith("out") for line in lines if line.stream == "stdout")
        assert all(line.ts and abs(line.ts - time.time()) < 60 for line in lines)
        # since: nothing older than asked.
        since = time.time() + 1
        await asyncio.sleep(2.2)
        later, _ = await _read_logs(
            control, spec, id, LogQuery(follow=False, tail=None, since=since), lambda ls: False
        )
        assert later and all(line.ts >= int(since) for line in later if line.ts)


async def test_logs_of_a_tty_container(podman: Podman, spec: EngineSpec, names: list[str]):
    # With a tty the Docker API sends the bytes as they are; libpod still multiplexes.
    async with watching(
        podman,
        spec,
        names,
        "sh",
        "-c",
        "while true; do echo on-tty; sleep 0.2; done",
        options=("-t",),
    ) as (_run, control, _name, id):
        lines, _ = await _read_logs(
            control, spec, id, LogQuery(follow=True, tail=3), lambda ls: len(ls) >= 3
        )
        assert {line.text for line in lines} == {"on-tty"}


async def test_log_ends_when_container_is_removed(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    async with watching(
        podman, spec, names, "sh", "-c", "while true; do echo alive; sleep 0.2; done"
    ) as (_run, control, name, id):
        seen: list[LogLine] = []

        async def follow() -> None:
            async for batch in control.logs(spec.source_id, id, name, LogQuery(tail=0)):
                seen.extend(batch.lines)

        task = asyncio.create_task(follow())
        await wait_for(lambda: len(seen) >= 2)
        podman("rm", "-f", "-t", "0", name)
        await asyncio.wait_for(task, 10)  # ends by itself, no error, no hang


async def test_hundred_thousand_line_backlog(podman: Podman, spec: EngineSpec, names: list[str]):
    async with watching(podman, spec, names, "seq", "1", "100000", wait=True) as (
        _run,
        control,
        _name,
        id,
    ):
        started = time.monotonic()
        lines, dropped = await _read_logs(
            control,
            spec,
            id,
            LogQuery(follow=False, tail=None, timestamps=False),
            lambda ls: False,
            timeout=30,
        )
        assert len(lines) + dropped == 100_000
        assert lines[-1].text == "100000"
        assert time.monotonic() - started < 15


async def test_a_300k_line_comes_whole_in_bounded_pieces(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    async with watching(
        podman, spec, names, "sh", "-c", "printf '%0300000d\\n' 7; echo after", wait=True
    ) as (_run, control, _name, id):
        lines, _ = await _read_logs(
            control, spec, id, LogQuery(follow=False, tail=None), lambda ls: False
        )
        *pieces, last = lines
        # podman splits it into 8 KiB entries, each with its time: the times are not text.
        assert "".join(p.text for p in pieces) == "0" * 299_999 + "7"
        assert all(len(p.text) <= 64 * 1024 for p in pieces) and last.text == "after"


async def test_escape_sequences_and_invalid_utf8_are_shown_safely(
    podman: Podman, spec: EngineSpec, names: list[str]
):
    async with watching(
        podman,
        spec,
        names,
        "printf",
        r"\033[31mred\033]0;pwned\007 \377\376 \302\233x ok\n",
        wait=True,
    ) as (_run, control, _name, id):
        lines, _ = await _read_logs(
            control, spec, id, LogQuery(follow=False, tail=None), lambda ls: False
        )
        (line,) = lines
        shown = safe_text(line.text)
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
        assert shown == r"\x1b[31mred\x1b]0;pwned\x07 \xff\xfe \x9bx ok"


async def test_no_socket_says_why(tmp_path: Path):
    for runtime in ("podman", "docker"):
        spec = EngineSpec(runtime, f"unix://{tmp_path}/missing.sock")  # type: ignore[arg-type]
        source = ContainerSource(make_engine(spec, FAST), FAST, host="t")
        with pytest.raises(SourceUnavailable) as caught:
            await source.open()
        assert caught.value.reason == f"{runtime} unavailable: no socket at {tmp_path}/missing.sock"
        assert caught.value.retry_after is not None and not caught.value.permanent


async def test_an_engine_never_seen_is_looked_for_less_and_less_often(
    sock: Path, tmp_path: Path
) -> None:
    # No such engine on this host: every attempt is a status change the whole console takes
    # in, so the wait doubles up to a cap; once the socket is there, the next attempt connects.
    spec = EngineSpec("podman", f"unix://{tmp_path}/later.sock")
    source = ContainerSource(make_engine(spec, FAST), FAST, host="t")
    waits = []
    for _ in range(5):
        with pytest.raises(SourceUnavailable) as caught:
            await source.open()
        waits.append(caught.value.retry_after)
    assert waits == [
        RETRY_AFTER,
        2 * RETRY_AFTER,
        4 * RETRY_AFTER,
        ABSENT_RETRY_MAX,
        ABSENT_RETRY_MAX,
    ]
    (tmp_path / "later.sock").symlink_to(sock)  # the engine is started
    await source.open()
    assert source.connected
    await source.close()
    # An engine that was reached and whose socket then went (it died): back to the quick pace.
    (tmp_path / "later.sock").unlink()
    with pytest.raises(SourceUnavailable) as caught:
        await source.open()
    assert caught.value.retry_after == RETRY_AFTER


def test_permission_denied_says_why(tmp_path: Path):
    # A socket its owner made unreachable (mode 000). Root passes any permission check, so
    # the probe runs as root without the capabilities that override file permissions, as an
    # engineer outside the docker group would be.
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    path.chmod(0)
    code = (
        "import asyncio, sys\n"
        "from opsconsole.sources.containers import ContainerSource, make_engine\n"
        "from opsconsole.sources.engine import ContainersConfig, EngineSpec\n"
        "from opsconsole.sources.base import SourceUnavailable\n"
        "for runtime in ('podman', 'docker'):\n"
        "    spec = EngineSpec(runtime, 'unix://' + sys.argv[1])\n"
        "    source = ContainerSource(make_engine(spec, ContainersConfig()), host='t')\n"
        "    try:\n"
        "        asyncio.run(source.open())\n"
        "    except SourceUnavailable as exc:\n"
        "        print(exc.reason)\n"
    )
    try:
        done = subprocess.run(
            [
                "setpriv",
                "--inh-caps=-all",
                "--bounding-set=-dac_override,-dac_read_search",
                sys.executable,
                "-c",
                code,
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        listener.close()
    assert done.stdout.splitlines() == [
        f"podman unavailable: permission denied on {path}",
        f"docker unavailable: permission denied on {path}",
    ], done.stderr


async def test_engine_killed_and_back_recovers_within_5s(podman: Podman, names: list[str]):
    sock = podman.start_service(podman.root / "second.sock")
    name = podman.run("sleep", "600")
    names.append(name)
    spec = EngineSpec("podman", f"unix://{sock}")
    source = ContainerSource(make_engine(spec, FAST), FAST, host="t")
    hub = Hub([source], host="t")
    sub = hub.subscribe()
    events: list[Event] = []

    async def pump() -> None:
        while not sub.closed:
            events.extend(await sub.batch())

    def status() -> SourceState:
        return hub.statuses()[0].state

    task = asyncio.create_task(pump())
    await hub.start()
    try:
        await wait_for(lambda: any(isinstance(e, ContainerList) for e in events))
        podman.kill_service(sock)
        await wait_for(lambda: status() is SourceState.UNAVAILABLE)
        assert hub.statuses()[0].reason.startswith("podman unavailable: ")
        lists = sum(isinstance(e, ContainerList) for e in events)
        podman.start_service(sock)
        back = time.monotonic()
        await wait_for(lambda: status() is SourceState.LIVE, timeout=5)
        await wait_for(lambda: sum(isinstance(e, ContainerList) for e in events) > lists, 5)
        assert time.monotonic() - back < 5
    finally:
        await hub.stop()
        task.cancel()
        podman.kill_service(sock)
