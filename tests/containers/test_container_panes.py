"""The container panes driven as a user would, on the real podman service and the real control."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult

from opsconsole.hub import Hub
from opsconsole.sources.containers import ContainerControl, ContainerSource, make_engine
from opsconsole.sources.engine import ContainersConfig, EngineSpec
from opsconsole.sources.events import ContainerInfo, ContainerList
from opsconsole.widgets.confirm import ConfirmScreen
from opsconsole.widgets.container_list import ContainerListPane
from opsconsole.widgets.container_views import ContainerScreen, InspectView, LogsView
from opsconsole.widgets.row_table import RowTable
from tests.containers.conftest import Podman
from tests.hub_app import HubFedApp
from tests.scripted import wait_for

CONFIG = ContainersConfig(relist_interval=2.0)


class PaneApp(HubFedApp):
    """The list pane fed by a hub of real container sources, as the console does it."""

    def __init__(self, specs: list[EngineSpec], *, read_only: bool = False) -> None:
        super().__init__()
        self.sources = [ContainerSource(make_engine(s, CONFIG), CONFIG, host="t") for s in specs]
        self.hub = Hub(self.sources, host="t")
        self.control = ContainerControl(self.sources, read_only=read_only)

    def compose(self) -> ComposeResult:
        yield ContainerListPane(self.control, id="containers")

    async def on_mount(self) -> None:
        self.query_one(RowTable).focus()


def text_of(app: App[None]) -> str:
    return "\n".join(
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    )


async def shows(app: App[None], pilot, *texts: str, timeout: float = 8.0) -> str:
    for _ in range(int(timeout / 0.05)):
        text = text_of(app)
        if all(t in text for t in texts):
            return text
        await pilot.pause(0.05)
    raise AssertionError(f"screen never showed {texts}:\n{text_of(app)}")


def pane_of(app: App[None]) -> ContainerListPane:
    return app.screen_stack[0].query_one(ContainerListPane)


async def cursor_on(app: App[None], pilot, name: str) -> None:
    pane = pane_of(app)
    await wait_for(lambda: any(c.name == name for c in pane.shown), 8)
    pane.set_filter(f"^{name}$")
    await pilot.pause()
    assert pane.current is not None and pane.current.name == name


async def test_list_filter_and_unavailable_engine(podman: Podman, sock: Path, names: list[str]):
    web = podman.run("sh", "-c", "while true; do echo hi; sleep 1; done", name="web-pane1")
    db = podman.run("sh", "-c", "exit 4", name="db-pane1")
    names += [web, db]
    specs = [
        EngineSpec("podman", f"unix://{sock}"),
        EngineSpec("docker", "unix:///nonexistent.sock"),
    ]
    app = PaneApp(specs)
    async with app.run_test(size=(160, 30)) as pilot:
        await shows(
            app, pilot, web, db, "docker unavailable: no socket at /nonexistent.sock (retry in"
        )
        text = await shows(app, pilot, "exited")
        db_line = next(line for line in text.splitlines() if db in line)
        assert " 4 " in db_line and "podman" in db_line
        await pilot.press("slash", *"web-pane", "enter")
        text = await shows(app, pilot, "matching /web-pane/")
        assert web in text and db not in text
        await pilot.press("slash", "ctrl+u", "[", "enter")
        await shows(app, pilot, "invalid regex")
        await pilot.press("escape")
        await shows(app, pilot, db)


async def test_markup_and_escapes_in_names_are_shown_as_text(podman: Podman, sock: Path):
    app = PaneApp([EngineSpec("podman", f"unix://{sock}")])
    async with app.run_test(size=(200, 30)) as pilot:
        hostile = ContainerInfo(
            engine="podman:/x",
            runtime="podman",
            id="e" * 64,
            name="[red]evil[/red]\x1b[2J",
            image="[b]img",
            state="restarting",
            pod="[i]pod",
            labels={"x": "[red]"},
        )
        pane_of(app).consume(
            [
                ContainerList(
                    ts=1.0, host="t", source="podman:/x", engine="podman:/x", containers=(hostile,)
                )
            ]
        )
        text = await shows(app, pilot, "[red]evil[/red]\\x1b[2J")
        line = next(line for line in text.splitlines() if "evil" in line)
        assert "RST" in line and "[b]img" in line and "[i]pod" in line


async def test_restart_is_confirmed_then_done(podman: Podman, sock: Path, names: list[str]):
    name = podman.run(
        "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done", name="confirm-pane1"
    )
    names.append(name)
    before = podman("inspect", "--format", "{{.State.StartedAt}}", name)
    app = PaneApp([EngineSpec("podman", f"unix://{sock}")])
    async with app.run_test(size=(160, 30)) as pilot:
        await cursor_on(app, pilot, name)
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        dialog = app.screen
        assert (dialog.target, dialog.where) == (name, f"podman:{sock}")
        assert dialog.command == f"podman --url unix://{sock} restart {name}"
        await shows(app, pilot, f"Restart {name} on", "Cancel (n)", "Restart (y)")
        await pilot.press("n")  # cancelled: nothing happens
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert podman("inspect", "--format", "{{.State.StartedAt}}", name) == before
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("y")
        await shows(app, pilot, f"restart {name}: done")
        assert podman("inspect", "--format", "{{.State.StartedAt}}", name) != before


async def test_read_only_refuses_and_says_so(podman: Podman, sock: Path, names: list[str]):
    name = podman.run("sleep", "600", name="ro-pane1")
    names.append(name)
    app = PaneApp([EngineSpec("podman", f"unix://{sock}")], read_only=True)
    async with app.run_test(size=(160, 30)) as pilot:
        await shows(app, pilot, "read-only: actions are off")
        await cursor_on(app, pilot, name)
        await pilot.press("K")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await shows(app, pilot, f"read-only mode: kill {name} refused")
        await asyncio.sleep(0.3)
        assert podman("inspect", "--format", "{{.State.Status}}", name).strip() == "running"


async def test_views_of_a_container(podman: Podman, sock: Path, names: list[str]):
    name = podman.run(
        "sh",
        "-c",
        "while true; do echo line-out; echo line-err >&2; sleep 0.3; done",
        name="views-pane1",
        options=("--env", "API_TOKEN=s3cr3t-value"),
    )
    names.append(name)
    app = PaneApp([EngineSpec("podman", f"unix://{sock}")])
    async with app.run_test(size=(160, 40)) as pilot:
        await cursor_on(app, pilot, name)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ContainerScreen)
        await shows(app, pilot, "line-out", "line-err", "following")
        logs = app.screen.query_one(LogsView)
        assert {line.stream for line in logs.view.lines} == {"stdout", "stderr"}
        await pilot.press("space")
        await shows(app, pilot, "paused (space follows)")
        await pilot.press("2")  # inspect
        inspect = app.screen.query_one(InspectView)
        await shows(app, pilot, "environment values masked")
        assert inspect.search("API_TOKEN") >= 1
        await pilot.pause(0.1)
        assert inspect.cursor_label == "0: API_TOKEN=••••••" or "API_TOKEN=••••••" in (
            inspect.cursor_label
        )
        assert "s3cr3t-value" not in text_of(app)
        await pilot.press("v")
        inspect.search("API_TOKEN")
        await shows(app, pilot, "API_TOKEN=s3cr3t-value")
        await pilot.press("3")  # processes
        await shows(app, pilot, "PID", "sleep 0.3", "processes · refreshed")
        await pilot.press("4")  # stats history
        await shows(app, pilot, "now: CPU", timeout=10)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ContainerScreen)


async def test_hostile_log_lines_are_drawn_as_text(podman: Podman, sock: Path, names: list[str]):
    name = podman.run(
        "sh",
        "-c",
        r"while true; do printf '\033[2J\033]0;pwn\007[red]x[/red] \377\n'; sleep 0.3; done",
        name="hostile-pane1",
    )
    names.append(name)
    app = PaneApp([EngineSpec("podman", f"unix://{sock}")])
    async with app.run_test(size=(120, 20)) as pilot:
        await cursor_on(app, pilot, name)
        await pilot.press("l")
        text = await shows(app, pilot, r"\x1b[2J\x1b]0;pwn\x07[red]x[/red] \xff")
        assert "\x1b" not in text and "\x07" not in text
