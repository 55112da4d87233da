"""Built-in themes and the loader for user themes."""

from opsconsole.themes.builtin import BUILTIN_THEMES, DEFAULT_THEME, builtin_names
from opsconsole.themes.loader import load_user_themes

__all__ = [
    "BUILTIN_THEMES",
    "DEFAULT_THEME",
    "builtin_names",
    "load_user_themes",
]
