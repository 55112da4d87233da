"""A container's log opened from the container list lands in the full log view (real podman)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import TabbedContent, TabPane

from opsconsole.hub import Hub
from opsconsole.sources.containers import ContainerControl, ContainerSource, make_engine
from opsconsole.sources.engine import ContainersConfig, EngineSpec
from opsconsole.widgets.container_list import ContainerListPane
from opsconsole.widgets.container_views import ContainerScreen
from opsconsole.widgets.log_view import LogsTab, LogView
from opsconsole.widgets.row_table import RowTable
from tests.containers.conftest import Podman, names, podman, sock  # noqa: F401 - fixtures
from tests.hub_app import HubFedApp
from tests.scripted import wait_for

CONFIG = ContainersConfig(relist_interval=2.0)


class ConsoleLikeApp(HubFedApp):
    """Containers and Logs views in tabs, fed by a hub of real container sources."""

    def __init__(self, spec: EngineSpec) -> None:
        super().__init__()
        self.sources = [ContainerSource(make_engine(spec, CONFIG), CONFIG, host="t")]
        self.hub = Hub(self.sources, host="t")
        self.control = ContainerControl(self.sources)

    def compose(self) -> ComposeResult:
        with TabbedContent(id="views"):
            with TabPane("Containers", id="containers"):
                yield ContainerListPane(self.control, id="containers-list")
            with TabPane("Logs", id="logs"):
                yield LogsTab(id="logs-tab")

    def action_show_view(self, view: str) -> None:
        """Switch to a view, as the console does."""
        self.query_one("#views", TabbedContent).active = view

    async def on_mount(self) -> None:
        self.query_one(RowTable).focus()


def shown(view: LogView) -> list[str]:
    height = view.scrollable_content_region.height
    return [view.render_line(y).text.rstrip() for y in range(height)]


async def test_container_log_opens_in_the_log_view_and_follows(
    podman: Podman,  # noqa: F811
    sock: Path,  # noqa: F811
    names: list[str],  # noqa: F811
) -> None:
    name = podman.run(
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick-$i; echo ERROR oops-$i >&2; sleep 0.2; done",
        name="logview-follow1",
    )
    names.append(name)
    app = ConsoleLikeApp(EngineSpec("podman", f"unix://{sock}"))
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(ContainerListPane)
        await wait_for(lambda: any(c.name == name for c in pane.shown), 8)
        pane.set_filter(f"^{name}$")
        await pilot.pause()
        info = pane.current
        assert info is not None
        await pilot.press("l")
        await pilot.pause()
        assert not isinstance(app.screen, ContainerScreen)  # no separate screen: the log view
        assert app.query_one("#views", TabbedContent).active == "logs"
        view = app.query_one(LogsTab).pane.view
        stream = f"container:{info.engine}:{name}"
        assert view.base.name == stream

        async def lines() -> list[str]:
            await pilot.pause(0.1)
            return shown(view)

        await wait_for(lambda: view.base.line_count >= 4, 10)
        text = "\n".join(await lines())
        assert "tick-1" in text and "ERROR oops-1" in text
        before = view.base.line_count
        await wait_for(lambda: view.base.line_count > before + 2, 10)  # it keeps following

        # Opening it again shows the same stream, not a second copy of every line.
        app.action_show_view("containers")
        await pilot.pause()
        pane.query_one(RowTable).focus()
        await pilot.press("l")
        await pilot.pause(1.0)
        streams = [d for d in app.query_one(LogsTab).pane.documents if d.name == stream]
        assert len(streams) == 1
        ticks = [
            view.base.line(i).text
            for i in range(view.base.line_count)
            if view.base.line(i).text.startswith("tick-")
        ]
        numbers = [int(t.rsplit("-", 1)[1]) for t in ticks]
        assert numbers == sorted(set(numbers))  # each line once, in order


async def test_without_a_log_view_the_container_screen_opens(
    podman: Podman,  # noqa: F811
    sock: Path,  # noqa: F811
    names: list[str],  # noqa: F811
) -> None:
    name = podman.run("sh", "-c", "while true; do echo alone; sleep 0.3; done", name="logview-2")
    names.append(name)
    app = ConsoleLikeApp(EngineSpec("podman", f"unix://{sock}"))
    async with app.run_test(size=(160, 40)) as pilot:
        await app.query_one(LogsTab).remove()
        pane = app.query_one(ContainerListPane)
        await wait_for(lambda: any(c.name == name for c in pane.shown), 8)
        pane.set_filter(f"^{name}$")
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ContainerScreen)
