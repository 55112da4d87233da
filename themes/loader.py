"""User themes: one TOML file per theme in the themes directory.

A theme file names the theme and gives any of Textual's theme colours, for example::

    name = "solarized-ops"
    dark = true
    primary = "#268BD2"
    background = "#002B36"
    success = "#859900"

    [variables]
    footer-key-foreground = "#B58900"

Keys: ``name`` and ``primary`` (required); the colours ``secondary``, ``accent``, ``warning``,
``error``, ``success``, ``foreground``, ``background``, ``surface``, ``panel``, ``boost``; ``dark``
and ``ansi`` (true or false); ``luminosity_spread`` and ``text_alpha`` (0 to 1); and a
``[variables]`` table of Textual's design variables (such as ``footer-key-foreground``).

A bad file never stops the console: ``load_user_themes`` skips it with one message saying what
is wrong and where, and loads the rest. Nothing here touches a running app.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, Final

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.design import ColorSystem
from textual.theme import BUILTIN_THEMES as TEXTUAL_THEMES
from textual.theme import Theme

from opsconsole.config import THEME_NAME
from opsconsole.themes.builtin import builtin_names

MAX_FILE_BYTES: Final = 64 * 1024
"""Theme files larger than this are skipped unread: a theme is a few dozen lines."""

MAX_FILES: Final = 100
"""At most this many theme files are read, so a cluttered directory cannot slow the start."""

COLOUR_KEYS: Final = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_FLAG_KEYS: Final = ("dark", "ansi")
_FRACTION_KEYS: Final = ("luminosity_spread", "text_alpha")
_KEYS: Final = ("name", *COLOUR_KEYS, *_FLAG_KEYS, *_FRACTION_KEYS, "variables")

# A colour variable: a colour (or "auto" / "initial") and an optional opacity: "#0178D4 40%".
_COLOUR_VALUE: Final = re.compile(r"(?P<colour>.+?)(?:\s+(?P<percent>\d{1,3}(?:\.\d+)?)%)?")


class _Broken(Exception):
    """The file cannot become a theme; the message says why."""


def load_user_themes(directory: Path) -> tuple[list[Theme], list[str]]:
    """Load every ``*.toml`` theme in ``directory``, in name order.

    Returns the themes that loaded and one message per file that did not (or about the
    directory itself). A missing directory means no user themes and no message. Hidden files
    (editor backups and locks) are ignored. Never raises for what it finds on disk.
    """
    try:
        paths = sorted(
            entry
            for entry in directory.iterdir()
            if entry.suffix == ".toml" and not entry.name.startswith(".")
        )
    except FileNotFoundError:
        return [], []
    except OSError as error:
        return [], [f"{_show_path(directory)}: cannot read the themes directory: {_reason(error)}"]

    messages: list[str] = []
    if len(paths) > MAX_FILES:
        messages.append(
            f"{_show_path(directory)}: {len(paths)} theme files, only the first {MAX_FILES} read"
        )
        paths = paths[:MAX_FILES]
    themes: list[Theme] = []
    taken = dict.fromkeys([*builtin_names(), *TEXTUAL_THEMES], "a built-in theme")
    for path in paths:
        try:
            theme = _theme_from(_read_toml(path))
            if theme.name in taken:
                raise _Broken(f"the name {theme.name!r} is already used by {taken[theme.name]}")
        except _Broken as error:
            messages.append(f"{_show_path(path)}: {error}")
            continue
        taken[theme.name] = _show_path(path)
        themes.append(theme)
    return themes, messages


def _read_toml(path: Path) -> dict[str, object]:
    """Parse one file, refusing anything but a small regular UTF-8 file."""
    try:
        # Non-blocking, so that a FIFO named *.toml cannot hang the start.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise _Broken(f"cannot read: {_reason(error)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Broken("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise _Broken(f"cannot read: {_reason(error)}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise _Broken(f"larger than {MAX_FILE_BYTES // 1024} KiB; not a theme file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Broken(f"not UTF-8 text (line {line})") from None
    import tomllib  # only when there is a theme file: most starts have none

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _Broken(f"not valid TOML: {error}") from None


def _theme_from(table: dict[str, object]) -> Theme:
    """Check every key of a parsed theme file and build the theme."""
    problems: list[str] = []
    unknown = [key for key in table if key not in _KEYS]
    problems += [f"unknown key {_show(key)}{_suggest(key, _KEYS)}" for key in unknown]

    name = table.get("name")
    if name is None:
        problems.append('missing name (name = "my-theme")')
    elif not isinstance(name, str) or not THEME_NAME.fullmatch(name):
        problems.append(
            f"name must be up to 64 letters, digits, '.', '_' or '-', got {_show(name)}"
        )
    if "primary" not in table:
        problems.append('missing primary colour (primary = "#0178D4")')

    colours: dict[str, object] = {key: table[key] for key in COLOUR_KEYS if key in table}
    # Opaque only: some code takes these as they are, unblended (TextArea falls back to the
    # theme's surface as a Rich colour, and "transparent" or "#RRGGBBAA" crash it there).
    for key, value in colours.items():
        try:
            if _colour(value).a != 1:
                problems.append(f"{key}: must be opaque, got {_show(value)}")
        except _Broken as error:
            problems.append(f"{key}: {error}")
    flags: dict[str, object] = {key: table[key] for key in _FLAG_KEYS if key in table}
    for key, value in flags.items():
        if not isinstance(value, bool):
            problems.append(f"{key} must be true or false, got {_show(value)}")
    fractions: dict[str, object] = {key: table[key] for key in _FRACTION_KEYS if key in table}
    for key, value in fractions.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            problems.append(f"{key} must be a number from 0 to 1, got {_show(value)}")

    variables: dict[str, str] = {}
    raw_variables = table.get("variables", {})
    if isinstance(raw_variables, dict):
        for key, value in raw_variables.items():
            try:
                variables[key] = _variable(key, value)
            except _Broken as error:
                problems.append(f"variable {_show(key)}: {error}")
    else:
        problems.append(
            f"variables must be a table of name = 'value' lines, got {_show(raw_variables)}"
        )

    if problems:
        raise _Broken("; ".join(problems))
    assert isinstance(name, str)  # checked above; tells mypy
    options: dict[str, Any] = {**colours, **flags, **fractions}
    return Theme(name=name, variables=variables, **options)


def _colour(value: object) -> Color:
    if not isinstance(value, str):
        raise _Broken(f"expected a colour in quotes, got {_show(value)}")
    try:
        return Color.parse(value)
    except ColorParseError as error:
        hint = f"; did you mean {error.suggested_color!r}?" if error.suggested_color else ""
        raise _Broken(
            f"{_show(value)} is not a colour (use #RRGGBB, rgb(), hsl() or a name){hint}"
        ) from None


@cache
def _textual_variables() -> dict[str, str]:
    """Textual's design variables with their default values (the names a theme may set)."""
    return ColorSystem("#000000", dark=True).generate()


def _is_text_style(value: str) -> bool:
    return all(word in VALID_STYLE_FLAGS for word in value.split())


def _variable(name: str, value: object) -> str:
    """Check a design variable against how Textual uses it, so that it cannot fail later.

    A variable takes the kind of value Textual's own default has: text-style words, or a colour
    with an optional opacity ("#0178D4 40%"). The keywords "auto" and "initial", and full
    transparency, are accepted only where Textual's default uses them: elsewhere (a border, a
    background) they break the stylesheet or a widget.
    """
    known = _textual_variables()
    if name not in known:
        raise _Broken(f"unknown variable{_suggest(name, known)}")
    if not isinstance(value, str):
        raise _Broken(f"expected a value in quotes, got {_show(value)}")
    default = known[name]
    if _is_text_style(default):
        _check_text_style(value)
        return value
    match = _COLOUR_VALUE.fullmatch(value.strip())
    if match is None:
        raise _Broken(f"expected a colour such as '#0178D4' or '#0178D4 40%', got {_show(value)}")
    colour, percent = match["colour"], match["percent"]
    opacity = 1.0 if percent is None else float(percent) / 100
    if opacity > 1:
        raise _Broken(f"opacity must be 0% to 100%, got {_show(value)}")
    keyword = default.split()[0]
    if colour in ("auto", "initial"):
        if colour != keyword:
            raise _Broken(
                f"{colour!r} only works where Textual's own default uses it; give a colour"
            )
        return value
    if _colour(colour).a * opacity == 0 and keyword not in ("transparent", "initial"):
        raise _Broken(f"{_show(value)} is fully transparent; this variable needs a visible colour")
    if percent is not None:
        # Textual computes some colours from a few variables, and those take no "N%" suffix.
        try:
            ColorSystem("#000000", dark=True, variables={name: value}).generate()
        except ColorParseError:
            raise _Broken(
                f"put the opacity in the colour (#RRGGBBAA) for this variable, got {_show(value)}"
            ) from None
    return value


def _check_text_style(value: str) -> None:
    words = value.split()
    bad = [word for word in words if word not in VALID_STYLE_FLAGS]
    if bad or not words:
        raise _Broken(
            f"{_show(value)} is not a text style; use words from: "
            + ", ".join(sorted(VALID_STYLE_FLAGS))
        )
    if "none" in words and len(words) > 1:
        raise _Broken(f"'none' cannot be combined with other styles, got {_show(value)}")
    if words[-1] == "not":
        raise _Broken(f"'not' must be followed by a style, got {_show(value)}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(value: object, limit: int = 40) -> str:
    """A value from the file, quoted, escaped and cut short, safe to put in front of a user."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_path(path: Path) -> str:
    """A path with control characters escaped: file names are data too."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(path))


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
