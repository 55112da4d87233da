"""Themes: the built-ins apply and keep their promises (contrast, colour blindness, NO_COLOR), and
user theme files load, or are refused with a clear message, without ever stopping the console."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.terminal_theme import SVG_EXPORT_THEME
from textual.app import App, ComposeResult
from textual.color import Color
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Input,
    Markdown,
    OptionList,
    ProgressBar,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
    Tree,
)

import opsconsole.themes
from opsconsole.config import Config
from opsconsole.themes import BUILTIN_THEMES, DEFAULT_THEME, builtin_names, load_user_themes
from opsconsole.themes.contrast import (
    Deficiency,
    contrast_ratio,
    delta_e76,
    relative_luminance,
    simulate,
)
from opsconsole.themes.loader import COLOUR_KEYS, MAX_FILE_BYTES, MAX_FILES

STATUS = ("success", "warning", "error")  # ok, warning, critical
RED_GREEN: tuple[Deficiency, ...] = ("deuteranopia", "protanopia")
WARROOM = next(theme for theme in BUILTIN_THEMES if theme.name == "opsconsole-warroom")
THEMES_PACKAGE_DIR = Path(opsconsole.themes.__file__).parent


def colour(theme: Theme, field: str) -> Color:
    """A colour field of the theme, such as "success"."""
    value = getattr(theme, field)
    assert isinstance(value, str), field
    return Color.parse(value)


def shows(actual: Color, expected: Color) -> bool:
    """True when a rendered colour is the theme's (Textual's shading rounds by one step)."""
    return max(abs(a - b) for a, b in zip(actual.rgb, expected.rgb, strict=True)) <= 1


class Probe(App[None]):
    """A small app whose CSS uses the status colours and the custom variables, like the panes."""

    CSS = """
    #ok { color: $success; }
    #warning { color: $warning; }
    #critical { background: $error; color: $background; }
    #muted { color: $text-muted; }
    """

    def __init__(self, themes: list[Theme], selected: str) -> None:
        super().__init__()
        for theme in themes:
            self.register_theme(theme)
        self.theme = selected

    def compose(self) -> ComposeResult:
        yield Static("OK", id="ok")
        yield Static("WARN", id="warning")
        yield Static("CRIT", id="critical")
        yield Static("muted", id="muted")
        table: DataTable[str] = DataTable()
        table.add_columns("name", "state")
        table.add_row("web", "running")
        yield table
        yield Footer()


class ManyWidgets(Probe):
    """The probe plus many of Textual's widgets, so most design variables are used by CSS."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        with TabbedContent():
            with TabPane("one"):
                yield Input("text")
                yield Button("Go", variant="primary")
                yield Checkbox("check")
            with TabPane("two"):
                yield Markdown("# h1\n## h2\n### h3\n#### h4\n##### h5\n###### h6\n[a link](x)")
        tree: Tree[None] = Tree("root")
        tree.root.add_leaf("leaf")
        yield tree
        yield OptionList("one", "two")
        yield ProgressBar(total=10)
        yield Sparkline([1, 5, 3, 8, 2, 9])
        yield TextArea("code")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


VALID = """
name = "ocean"
dark = true
primary = "#0178D4"
background = "#101820"
success = "green"
warning = "rgb(255, 166, 43)"
error = "hsl(345, 51%, 48%)"
text_alpha = 0.9

[variables]
footer-key-foreground = "#FFA62B 80%"
text = "auto 90%"
block-cursor-text-style = "bold reverse"
link-background = "initial"
"""


# -- built-in themes ------------------------------------------------------------------------


def test_builtin_names_start_with_the_default_that_the_config_uses() -> None:
    assert builtin_names() == ["opsconsole-dark", "opsconsole-light", "opsconsole-warroom"]
    assert DEFAULT_THEME == builtin_names()[0] == Config().theme


@pytest.mark.parametrize("theme", BUILTIN_THEMES, ids=lambda theme: theme.name)
async def test_builtin_theme_registers_and_colours_the_widgets(theme: Theme) -> None:
    app = Probe(list(BUILTIN_THEMES), theme.name)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_theme is theme
        assert shows(app.query_one("#ok").styles.color, colour(theme, "success"))
        assert shows(app.query_one("#warning").styles.color, colour(theme, "warning"))
        assert shows(app.query_one("#critical").styles.background, colour(theme, "error"))
        # Switching between them at run time works too (the theme key cycles them).
        for other in BUILTIN_THEMES:
            app.theme = other.name
            await pilot.pause()
            assert shows(app.query_one("#ok").styles.color, colour(other, "success"))


@pytest.mark.parametrize("theme", BUILTIN_THEMES, ids=lambda theme: theme.name)
def test_text_and_status_colours_have_enough_contrast(theme: Theme) -> None:
    # AAA (7:1) for the war room, AA (4.5:1) otherwise; 3:1 for status colours and primary
    # (plain sparklines, the cursor bar).
    text_minimum = 7.0 if theme is WARROOM else 4.5
    foreground = colour(theme, "foreground")
    for ground in ("background", "surface", "panel"):
        assert contrast_ratio(foreground, colour(theme, ground)) >= text_minimum, ground
    background = colour(theme, "background")
    for field in (*STATUS, "primary"):
        assert contrast_ratio(colour(theme, field), background) >= 3.0, field


@pytest.mark.parametrize("theme", BUILTIN_THEMES, ids=lambda theme: theme.name)
@pytest.mark.parametrize("deficiency", RED_GREEN)
def test_status_colours_stay_apart_for_red_green_colour_blindness(
    theme: Theme, deficiency: Deficiency
) -> None:
    seen = {field: simulate(colour(theme, field), deficiency) for field in STATUS}
    for first, second in itertools.combinations(STATUS, 2):
        assert delta_e76(seen[first], seen[second]) >= 20, (first, second)


def test_warroom_status_colours_stay_apart_for_tritanopia_and_in_greyscale() -> None:
    tritan = [simulate(colour(WARROOM, field), "tritanopia") for field in STATUS]
    assert all(delta_e76(a, b) >= 20 for a, b in itertools.combinations(tritan, 2))
    # NO_COLOR makes Textual render every colour as its grey (Color.monochrome).
    greys = [colour(WARROOM, field).monochrome for field in STATUS]
    assert all(abs(a.r - b.r) >= 40 for a, b in itertools.combinations(greys, 2))
    background = colour(WARROOM, "background").monochrome
    assert all(contrast_ratio(grey, background) >= 3.0 for grey in greys)


def test_contrast_helpers_match_known_values() -> None:
    white, black = Color.parse("#FFFFFF"), Color.parse("#000000")
    assert contrast_ratio(white, black) == pytest.approx(21.0)
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(Color.parse("#777777"), white) == pytest.approx(4.48, abs=0.01)
    assert relative_luminance(Color.parse("#808080")) == pytest.approx(0.2159, abs=1e-4)
    assert delta_e76(white, black) == pytest.approx(100.0, abs=0.01)
    # Greys look the same to everyone; orange and vermillion, far apart for trichromats,
    # collapse for a deuteranope (the reason the war room's warning is yellow, not orange).
    grey = Color.parse("#808080")
    assert delta_e76(simulate(grey, "deuteranopia"), grey) < 1
    orange, vermillion = Color.parse("#E69F00"), Color.parse("#D55E00")
    assert delta_e76(orange, vermillion) > 30
    assert delta_e76(simulate(orange, "deuteranopia"), simulate(vermillion, "deuteranopia")) < 20


def _terminal_colours(svg: str) -> set[str]:
    """The text and background colours of the cells of a screenshot (not the window frame)."""
    colours = set(re.findall(r"-r\d+ \{ fill: (#[0-9a-f]{6})", svg))
    colours |= set(re.findall(r'<rect fill="(#[0-9a-f]{6})" x=', svg))
    frame = {SVG_EXPORT_THEME.foreground_color.hex, SVG_EXPORT_THEME.background_color.hex}
    return colours - frame


def _is_grey(hex_colour: str) -> bool:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return max(red, green, blue) - min(red, green, blue) <= 2


@pytest.mark.parametrize("no_color", [False, True])
async def test_no_color_renders_the_console_in_greys(
    no_color: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Textual reads NO_COLOR when the app is created; nothing else is needed for our themes.
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = Probe(list(BUILTIN_THEMES), WARROOM.name)
    async with app.run_test() as pilot:
        await pilot.pause()
        colours = _terminal_colours(app.export_screenshot())
    assert colours
    assert all(map(_is_grey, colours)) is no_color, sorted(colours)


# -- user themes ----------------------------------------------------------------------------


async def test_a_valid_theme_file_loads_and_can_be_selected(tmp_path: Path) -> None:
    write(tmp_path, "ocean.toml", VALID)
    themes, messages = load_user_themes(tmp_path)
    assert messages == []
    [theme] = themes
    assert (theme.name, theme.dark, theme.primary, theme.text_alpha) == (
        "ocean",
        True,
        "#0178D4",
        0.9,
    )
    assert theme.variables["text"] == "auto 90%"
    app = Probe([theme], "ocean")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert shows(app.query_one("#ok").styles.color, Color.parse("green"))


def _accepted(directory: Path, name: str, value: str) -> bool:
    """Whether the loader takes ``value`` for the variable ``name`` (alone in a theme)."""
    write(
        directory, "one.toml", f'name = "one"\nprimary = "red"\n[variables]\n"{name}" = "{value}"'
    )
    themes, _ = load_user_themes(directory)
    return bool(themes)


@pytest.mark.parametrize("form", ["#336699 80%", "ansi_red", "transparent", "auto 90%", "initial"])
async def test_every_variable_value_the_loader_accepts_applies_without_errors(
    tmp_path: Path, form: str
) -> None:
    # Every one of Textual's variables set to ``form`` where the loader accepts it (else to a
    # plain colour) in one theme, applied to an app that uses most of Textual's widgets: a value
    # the loader lets through must never break the stylesheet or a widget at run time.
    defaults = Probe([], "textual-dark").get_css_variables()
    lines = []
    for name, default in defaults.items():
        style = all(word in VALID_STYLE_FLAGS for word in default.split())
        candidates = ["bold"] if style else [form, "#336699"]
        value = next(value for value in candidates if _accepted(tmp_path, name, value))
        lines.append(f'"{name}" = "{value}"')
    (tmp_path / "one.toml").unlink()
    assert any(line.endswith(f'"{form}"') for line in lines)
    variables = "\n".join(lines)
    write(tmp_path, "all.toml", f'name = "all"\nprimary = "#336699"\n[variables]\n{variables}')
    themes, messages = load_user_themes(tmp_path)
    assert messages == []
    app = ManyWidgets(themes, "all")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_theme.name == "all"


@pytest.mark.parametrize("form", ["ansi_default", "hsl(210, 50%, 40%)", "darkorange"])
async def test_every_theme_colour_the_loader_accepts_applies_without_errors(
    tmp_path: Path, form: str
) -> None:
    fields = "\n".join(f'{field} = "{form}"' for field in COLOUR_KEYS)
    write(tmp_path, "all.toml", f'name = "all"\n{fields}\n')
    themes, messages = load_user_themes(tmp_path)
    assert messages == []
    app = ManyWidgets(themes, "all")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_theme.name == "all"


def test_a_missing_directory_is_no_themes(tmp_path: Path) -> None:
    assert load_user_themes(tmp_path / "absent") == ([], [])


def test_the_shipped_example_theme_loads() -> None:
    themes, messages = load_user_themes(THEMES_PACKAGE_DIR)
    assert messages == []
    assert "solarized-ops" in [theme.name for theme in themes]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _broken_link(path: Path) -> None:
    path.symlink_to(path.with_name("gone.toml"))


def _oversized(path: Path) -> None:
    path.write_text('name = "big"\nprimary = "red"\n' + "#" * MAX_FILE_BYTES, encoding="utf-8")


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'name = "ok"\nprimary = "red"\n# \xff\xfe\n')


BASE = 'name = "broken"\nprimary = "#0178D4"\n'

BROKEN_TEXT = [
    ('name = "broken"\nprimary = \n', "not valid TOML: Invalid value (at line 2, column 11)"),
    (BASE + 'primay = "#fff"\n', "unknown key 'primay' (did you mean 'primary'?)"),
    (BASE.replace("#0178D4", "#0178Z4"), "primary: '#0178Z4' is not a colour"),
    (BASE.replace("#0178D4", "blu"), "did you mean 'blue'?"),
    (BASE + 'surface = "transparent"\n', "surface: must be opaque, got 'transparent'"),
    (BASE + "warning = 12\n", "warning: expected a colour in quotes, got 12"),
    ('primary = "#0178D4"\n', "missing name"),
    ('name = "broken"\n', "missing primary colour"),
    ('name = "two words"\nprimary = "red"\n', "name must be up to 64 letters"),
    (
        'name = "opsconsole-dark"\nprimary = "red"\n',
        "'opsconsole-dark' is already used by a built-in",
    ),
    ('name = "nord"\nprimary = "red"\n', "'nord' is already used by a built-in theme"),
    (BASE + 'dark = "yes"\n', "dark must be true or false, got 'yes'"),
    (BASE + "text_alpha = 2\n", "text_alpha must be a number from 0 to 1, got 2"),
    (BASE + "variables = 3\n", "variables must be a table"),
    (BASE + '[variables]\nfooter-key-foregound = "red"\n', "did you mean 'footer-key-foreground'"),
    (BASE + '[variables]\nfooter-key-foreground = "nope"\n', "'nope' is not a colour"),
    (BASE + '[variables]\ntext = "red 250%"\n', "opacity must be 0% to 100%"),
    (
        BASE + '[variables]\nfooter-key-background = "auto"\n',
        "'auto' only works where Textual's own default uses it",
    ),
    (BASE + '[variables]\nblock-cursor-text-style = "blink2"\n', "'blink2' is not a text style"),
    (BASE + '[variables]\nlink-style = "none bold"\n', "'none' cannot be combined"),
    (BASE + '[variables]\ntext = "red; } Screen { color: blue"\n', "is not a colour"),
    (BASE + "[variables]\ntext-muted = 1\n", "expected a value in quotes, got 1"),
]

BROKEN_FILES = [
    (_fifo, "not a regular file"),
    (_directory, "not a regular file"),
    (_broken_link, "cannot read: No such file or directory"),
    (_oversized, "larger than 64 KiB; not a theme file"),
    (_not_utf8, "not UTF-8 text (line 3)"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN_TEXT, ids=[e for _, e in BROKEN_TEXT])
def test_a_broken_theme_file_gets_its_message_and_others_still_load(
    tmp_path: Path, text: str, expected: str
) -> None:
    write(tmp_path, "a-valid.toml", VALID)
    broken = write(tmp_path, "broken.toml", text)
    themes, messages = load_user_themes(tmp_path)
    assert [theme.name for theme in themes] == ["ocean"]
    assert len(messages) == 1
    assert messages[0].startswith(f"{broken}: ")
    assert expected in messages[0]


@pytest.mark.parametrize(
    ("make", "expected"), BROKEN_FILES, ids=[make.__name__ for make, _ in BROKEN_FILES]
)
def test_a_file_that_is_not_a_readable_theme_gets_its_message(
    tmp_path: Path, make: Callable[[Path], None], expected: str
) -> None:
    write(tmp_path, "a-valid.toml", VALID)
    broken = tmp_path / "broken.toml"
    make(broken)
    themes, messages = load_user_themes(tmp_path)
    assert [theme.name for theme in themes] == ["ocean"]
    assert messages == [f"{broken}: {expected}"]


def test_all_problems_of_a_file_are_in_its_one_message(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", 'primary = "nope"\ndark = 1\nextra = 2\n')
    _, [message] = load_user_themes(tmp_path)
    for part in ("unknown key 'extra'", "missing name", "primary: 'nope'", "dark must be"):
        assert part in message


def test_a_name_used_twice_loads_the_first_file_only(tmp_path: Path) -> None:
    first = write(tmp_path, "1.toml", VALID)
    second = write(tmp_path, "2.toml", VALID)
    themes, messages = load_user_themes(tmp_path)
    assert [theme.name for theme in themes] == ["ocean"]
    assert messages == [f"{second}: the name 'ocean' is already used by {first}"]


def test_hidden_and_other_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, ".#ocean.toml", "broken [")
    write(tmp_path, "ocean.toml~", "broken [")
    write(tmp_path, "README", "broken [")
    assert load_user_themes(tmp_path) == ([], [])


def test_the_number_of_files_read_is_capped(tmp_path: Path) -> None:
    for index in range(MAX_FILES + 1):
        write(tmp_path, f"t{index:03}.toml", f'name = "t{index:03}"\nprimary = "red"\n')
    themes, messages = load_user_themes(tmp_path)
    assert len(themes) == MAX_FILES
    assert messages == [f"{tmp_path}: {MAX_FILES + 1} theme files, only the first {MAX_FILES} read"]


def test_a_themes_path_that_is_a_file_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "themes", "")
    assert load_user_themes(path) == (
        [],
        [f"{path}: cannot read the themes directory: Not a directory"],
    )


def test_messages_never_carry_control_characters_from_the_file(tmp_path: Path) -> None:
    # File names and values are data: an escape sequence in either must not reach the screen.
    write(tmp_path, "evil\x1b[2J.toml", 'name = "evil"\nprimary = "\\u001b]0;pwned\\u0007"\n')
    _, [message] = load_user_themes(tmp_path)
    assert message.isprintable()
    assert "\\x1b[2J.toml" in message
