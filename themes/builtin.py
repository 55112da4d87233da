"""The themes opsconsole ships with.

- ``opsconsole-dark`` (the default): calm, low-glare dark colours for a terminal over SSH.
- ``opsconsole-light``: for light terminals and bright rooms.
- ``opsconsole-warroom``: for a shared screen on a projector or a video call: black background,
  white text, and status colours from the Okabe-Ito palette that stay apart under colour blindness
  and even in greyscale (see the comment on the theme).

Widgets use only theme variables. A state is shown as ok with ``$success``, warning with
``$warning`` and critical with ``$error``; text with ``$foreground``/``$text``/``$text-muted``;
chrome with ``$primary``, ``$accent``, ``$surface``, ``$panel``, ``$boost`` and ``$background``.
Every built-in theme keeps its status colours and primary at least 3:1 against its background,
and its status colours mutually distinguishable under simulated deuteranopia and protanopia (the
tests check it).

opsconsole defines no variables of its own, so any Textual theme works too. A new one would have
to be set in every theme here, filled in by the loader for user themes, and given a default for
Textual's themes through ``App.get_theme_variable_defaults``, or the stylesheet fails to parse.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.theme import Theme

DARK = Theme(
    name="opsconsole-dark",
    dark=True,
    primary="#5E9FE0",
    secondary="#3D6EA8",
    accent="#C39BF0",
    foreground="#D7DAE0",
    background="#14161B",
    surface="#1B1E24",
    panel="#262A33",
    # A sea green and a vermillion-leaning red rather than pure green and red: with the amber they
    # keep apart for red-green colour blindness (delta E > 20 simulated) and stay 5:1 or more.
    success="#4CC2A0",
    warning="#E8C35A",
    error="#E8564A",
)

LIGHT = Theme(
    name="opsconsole-light",
    dark=False,
    primary="#1F5FAE",
    secondary="#3D7CC9",
    accent="#7A3FB0",
    foreground="#1D2127",
    background="#F6F6F3",
    surface="#FFFFFF",
    panel="#E4E4DF",
    # Dark enough for 4.5:1 on the light background; teal, burnt orange and wine red differ in
    # lightness as well as hue, so red-green colour blindness still tells them apart.
    success="#0F7B6C",
    warning="#A85500",
    error="#9B1C31",
)

# A projector cannot show black, only the room's light, and video calls smear colour (chroma
# subsampling), so this theme relies on lightness: white text on black (21:1), colour reserved for
# status, neutral chrome (a white cursor bar, grey borders). Dark rather than light because the
# Okabe-Ito colours are light: on white, orange and yellow fall below 3:1.
#
# Status colours (Okabe & Ito 2008, "Color Universal Design"): ok = sky blue #56B4E9, warning =
# yellow #F0E442, critical = vermillion #D55E00. The common choice of orange #E69F00 for warning
# is not used: simulated deuteranopia turns orange and vermillion into two similar browns (CIE76
# delta E 18). Blue vs yellow is the axis red-green dichromats keep, and the three differ strongly
# in lightness (greys 164, 219 and 113 under NO_COLOR's monochrome), so they stay apart for
# deuteranopia (delta E >= 33), protanopia (>= 49), tritanopia (>= 59) and in greyscale.
WARROOM = Theme(
    name="opsconsole-warroom",
    dark=True,
    primary="#FFFFFF",
    secondary="#0072B2",
    accent="#CC79A7",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#262626",
    success="#56B4E9",
    warning="#F0E442",
    error="#D55E00",
    variables={
        # Full-strength text: the default 87% and 60% wash out on a projector.
        "text": "auto 100%",
        "text-muted": "auto 75%",
        "text-disabled": "auto 50%",
        # Unfocused borders stay visible instead of vanishing into the black.
        "border-blurred": "#808080",
    },
)

BUILTIN_THEMES: tuple[Theme, ...] = (DARK, LIGHT, WARROOM)
"""The shipped themes; the first is the default."""

DEFAULT_THEME = DARK.name
"""The theme used when none is configured or the configured one cannot be used."""


def builtin_names() -> list[str]:
    """The names of the shipped themes, the default first."""
    return [theme.name for theme in BUILTIN_THEMES]


def start_with_theme(app: App[Any], name: str) -> None:
    """Give ``app``, before it runs, the registered theme ``name``.

    What ``app.theme = name`` does, but for the stylesheet pass that queues: run after the
    first screen is composed, it parsed every style source again with the theme's variables,
    emptied the parse cache (so the next mount parsed them all a third time) and restyled every
    widget. Before the app runs the stylesheet holds no source yet, so taking the theme's
    variables now has every source parsed once, with them.
    """
    app.set_reactive(App.theme, name)  # no watcher: it is what queues the pass
    dark = app.current_theme.dark
    app.update_classes(
        {f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}, update=False
    )
    app._refresh_truecolor_filter(app.ansi_theme)  # ANSI colours follow the theme's darkness
    app.stylesheet.set_variables(app.get_css_variables())
