"""The RowTable widget on its own, driven through Textual's pilot: what is drawn and the keys."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, ComposeResult

from opsconsole.widgets.row_table import Column, Row, RowTable
from tests.test_host_widgets import drawn

COLUMNS = (Column("id", "ID", 4, "right"), Column("name", "NAME", 6), Column("text", "TEXT", 40))


def rows(n: int, text: str = "x") -> list[Row]:
    return [Row(f"r{i}", (str(i), f"n{i}", f"{text}{i}")) for i in range(n)]


class TableApp(App[None]):
    """Mounts one RowTable; ``selected`` is every key it posted, in order."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        super().__init__()
        self.table = RowTable(COLUMNS)
        self.table.set_rows(rows)
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_row_table_selected(self, message: RowTable.Selected) -> None:
        self.selected.append(message.key)


def lines(app: TableApp) -> list[str]:
    return drawn(app.table).splitlines()


async def test_header_and_cells_are_drawn_fitted_to_their_columns() -> None:
    app = TableApp(
        [
            Row("a", ("7", "averyverylongname", "[red]not markup[/red] \x1b[2J")),
            Row("b", ("12345", "ok", "")),
        ]
    )
    async with app.run_test(size=(60, 6)):
        header, first, second, *rest = lines(app)
        assert header.startswith("   ID  NAME    TEXT ")
        assert first.startswith("    7  avery…  [red]not markup[/red] \\x1b[2J")
        assert second.startswith(" 123…  ok")
        assert all(not line.strip() for line in rest)


async def test_keys_move_the_cursor_and_keep_it_on_screen() -> None:
    app = TableApp(rows(100))
    async with app.run_test(size=(60, 11)) as pilot:  # a header and ten rows
        table = app.table
        table.focus()
        await pilot.press("j", "down", "j")
        assert table.cursor_row == 3 and table.cursor_key == "r3"
        await pilot.press("k", "up")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_key == "r99"
        assert lines(app)[-1].startswith("   99")  # scrolled to it, under the header
        assert lines(app)[0].startswith("   ID")
        await pilot.press("g")
        assert table.cursor_row == 0 and lines(app)[1].startswith("    0")
        await pilot.press("pagedown")
        assert table.cursor_row == 9 and "   9 " in "\n".join(lines(app))
        await pilot.press("pagedown", "pageup")
        assert table.cursor_row == 9
        await pilot.press("ctrl+end")
        assert table.cursor_row == 99
        await pilot.press("ctrl+home", "k")  # stops at the first row
        assert table.cursor_row == 0
        await pilot.press("j", "enter")
        assert app.selected == ["r1"]


async def test_a_click_selects_the_row() -> None:
    app = TableApp(rows(5))
    async with app.run_test(size=(60, 8)) as pilot:
        assert await pilot.click(RowTable, offset=(2, 3))  # the header, then rows 0, 1, 2
        assert app.table.cursor_key == "r2" and app.selected == ["r2"]
        assert await pilot.click(RowTable, offset=(2, 0))  # the header selects nothing
        assert app.selected == ["r2"]


async def test_the_cursor_follows_its_row_unless_left_on_top() -> None:
    app = TableApp(rows(5))
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.table
        table.focus()
        await pilot.press("j", "j")
        assert table.cursor_key == "r2"
        table.set_rows(reversed(rows(5)))
        assert table.cursor_key == "r2" and table.cursor_row == 2
        table.set_rows(rows(5)[2:])  # r2 is now first: still followed
        assert table.cursor_key == "r2" and table.cursor_row == 0
        table.set_rows(reversed(rows(5)))
        assert table.cursor_key == "r2" and table.cursor_row == 2
        # Its row gone, the cursor stays where it was, within the rows there are.
        table.set_rows(row for row in rows(5) if row.key != "r2")
        assert table.cursor_row == 2 and table.cursor_key == "r3"
        table.set_rows(rows(2))
        assert table.cursor_row == 1
        # On top, the cursor stays on top whatever row comes first.
        await pilot.press("g")
        table.set_rows(reversed(rows(5)))
        assert table.cursor_row == 0 and table.cursor_key == "r4"
        table.set_rows([])
        assert table.cursor_key is None
        await pilot.press("j", "enter")
        assert app.selected == []


async def test_an_update_draws_only_the_visible_rows_that_changed() -> None:
    app = TableApp(rows(300))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        built = app.table.rendered_rows
        assert 28 <= built <= 30  # the rows on screen, not all 300
        changed = rows(300)
        for i in (3, 10, 250):  # 250 is off screen
            changed[i] = Row(f"r{i}", (str(i), "new", "changed"))
        app.table.set_rows(changed)
        await pilot.pause()
        assert app.table.rendered_rows == built + 2
        assert "new     changed" in lines(app)[4]


async def test_a_row_that_moves_a_line_and_back_is_not_built_again() -> None:
    # An idle process whose CPU% flickers jumps to the top and back each tick, moving the rows
    # in between a line (so to the other stripe) and back: each row keeps both stripes' Strips.
    app = TableApp(rows(20))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        jumped = rows(20)
        jumped.insert(1, jumped.pop(10))  # row 10 to the top: rows 1-9 move down a line
        app.table.set_rows(jumped)
        await pilot.pause()
        built = app.table.rendered_rows
        app.table.set_rows(rows(20))  # and back
        await pilot.pause()
        assert app.table.rendered_rows == built
        assert "n5" in lines(app)[6]  # drawn where it is again


async def test_rows_coming_and_going_keep_the_drawing_and_the_scroll_range_right() -> None:
    # A busy host gains and loses processes every tick; the table takes that without laying
    # out the screen, so check that what is drawn and how far it scrolls still follow.
    app = TableApp(rows(300))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        shorter = rows(300)
        del shorter[20]  # rows 21 and on move up one line
        app.table.set_rows(shorter)
        await pilot.pause()
        assert lines(app)[21].split()[:2] == ["21", "n21"]
        assert app.table.max_scroll_y == 300 - app.table.scrollable_content_region.height
        assert app.table.vertical_scrollbar.window_virtual_size == 300  # the thumb grew
        app.table.set_rows(rows(100))
        await pilot.press("G")
        await pilot.pause()
        assert app.table.cursor_row == 99
        assert lines(app)[-1].split()[:2] == ["99", "n99"]
        assert app.table.max_scroll_y == 101 - app.table.scrollable_content_region.height


async def test_scrollbar_thumb_follows_rows_coming_one_at_a_time() -> None:
    # A row more or less is set quietly when the thumb would draw the same; over many such
    # changes the thumb must still end where a table laid out afresh draws it.
    def thumb(app: TableApp) -> list[tuple[str, object]]:
        """Each cell of the scrollbar: its glyph and colours."""
        bar = app.table.vertical_scrollbar
        strips = app.screen._compositor.render_strips()
        cells = []
        for y in range(bar.region.y, bar.region.bottom):
            segment = strips[y].crop(bar.region.x, bar.region.x + 1)._segments[0]
            cells.append((segment.text, segment.style))
        return cells

    grown = TableApp(rows(40))
    async with grown.run_test(size=(60, 21)) as pilot:
        await pilot.pause()
        drawn_at_first = thumb(grown)
        for n in range(41, 161):
            grown.table.set_rows(rows(n))
            await pilot.pause()
        drawn_after_growing = thumb(grown)
    fresh = TableApp(rows(160))
    async with fresh.run_test(size=(60, 21)) as pilot:
        await pilot.pause()
        assert thumb(fresh) == drawn_after_growing
        assert drawn_after_growing != drawn_at_first  # the thumb did shrink


async def test_left_right_home_end_scroll_long_cells_sideways() -> None:
    long = Row("long", ("1", "java", "-Dx=y " * 5 + "Main"))
    app = TableApp([long])
    async with app.run_test(size=(30, 4)) as pilot:
        app.table.focus()
        assert "Main" not in drawn(app.table)
        await pilot.press("end")
        assert "Main" in lines(app)[1] and "TEXT" not in lines(app)[0]
        await pilot.press("home", "right", "right")
        assert lines(app)[0].startswith(" ID  NAME")  # the header scrolls with the rows
        await pilot.press("left", "left")
        assert lines(app)[0].startswith("   ID")


async def test_alarm_rows_cursor_and_theme_have_their_styles() -> None:
    app = TableApp(
        [Row("top", ("1", "top", "")), Row("ok", ("2", "ok", "")), Row("bad", ("3", "z", ""), True)]
    )
    async with app.run_test(size=(60, 5)) as pilot:
        table = app.table

        def style(y: int) -> object:
            return next(iter(table.render_line(y))).style

        assert style(3).bold and not style(2).bold  # type: ignore[attr-defined]
        assert style(3).color != style(2).color  # type: ignore[attr-defined]
        assert table.has_focus
        focused = style(1)  # the cursor's row
        table.blur()
        await pilot.pause()
        assert style(1) != focused  # the cursor shows whether keys go here
        header = style(0)
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert style(0) != header
