"""The row of view labels: what it draws, where the bar is, and what a click chooses."""

from __future__ import annotations

from textual.app import App, ComposeResult

from opsconsole.widgets.view_tabs import ViewTabs

VIEWS = [("dashboard", "1 Dashboard"), ("processes", "2 Processes"), ("logs", "5 Logs")]


class TabsApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        yield ViewTabs(VIEWS, active="dashboard")

    def on_view_tabs_chosen(self, event: ViewTabs.Chosen) -> None:
        self.chosen.append(event.view)


def lines(app: TabsApp) -> list[str]:
    tabs = app.query_one(ViewTabs)
    return [tabs.render_line(y).text for y in range(2)]


async def test_labels_in_a_row_with_the_bar_under_the_active_one() -> None:
    app = TabsApp()
    async with app.run_test(size=(60, 5)) as pilot:
        labels, bar = lines(app)
        assert labels.startswith(" 1 Dashboard  2 Processes  5 Logs ")
        assert len(labels) == len(bar) == 60
        # The bar's highlight is the span under the label's text: its ends are half glyphs.
        assert bar.startswith("╸" + "━" * 11 + "╺")
        app.query_one(ViewTabs).active = "logs"
        await pilot.pause()
        labels, bar = lines(app)
        start = labels.index("5 Logs")
        assert bar[start - 1] == "╸" and bar[start + len("5 Logs")] == "╺"
        assert bar.count("╸") == bar.count("╺") == 1  # and no longer under the first


async def test_a_click_on_a_label_chooses_its_view() -> None:
    app = TabsApp()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.click(ViewTabs, offset=(16, 0))  # on "2 Processes"
        await pilot.click(ViewTabs, offset=(55, 0))  # past the labels: nothing
        assert app.chosen == ["processes"]


async def test_a_narrow_row_shows_the_active_label_whole() -> None:
    app = TabsApp()
    async with app.run_test(size=(20, 5)) as pilot:
        assert lines(app)[0].startswith(" 1 Dashboard ")
        app.query_one(ViewTabs).active = "logs"
        await pilot.pause()
        labels, _ = lines(app)
        assert labels.rstrip().endswith("5 Logs")
        await pilot.click(ViewTabs, offset=(16, 0))  # where "5 Logs" is drawn now
        assert app.chosen == ["logs"]
