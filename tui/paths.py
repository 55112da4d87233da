"""Where opsconsole keeps its files, per the XDG Base Directory specification.

Headless and side-effect free: every function reads the environment when called (so tests and
callers can pass their own) and nothing here creates a directory except ``ensure_dir``, which
callers that are about to write use. The console must not litter a sick host it only looks at.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "opsconsole"
CONFIG_FILE_NAME = "config.toml"


def _base(variable: str, fallback: tuple[str, ...], env: Mapping[str, str] | None) -> Path:
    """``$variable`` when set to an absolute path, else ``$HOME/<fallback>``.

    The spec says relative values are invalid and must be ignored, and an empty one means unset.
    """
    environ = os.environ if env is None else env
    value = environ.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    home = environ.get("HOME", "")
    # Path.home() falls back to the password database when HOME is unset or useless.
    return (Path(home) if Path(home).is_absolute() else Path.home()).joinpath(*fallback)


def config_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME``, default ``~/.config``."""
    return _base("XDG_CONFIG_HOME", (".config",), env)


def data_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME``, default ``~/.local/share``."""
    return _base("XDG_DATA_HOME", (".local", "share"), env)


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME``, default ``~/.local/state``."""
    return _base("XDG_STATE_HOME", (".local", "state"), env)


def cache_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME``, default ``~/.cache``."""
    return _base("XDG_CACHE_HOME", (".cache",), env)


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The console's configuration directory, ``$XDG_CONFIG_HOME/opsconsole``."""
    return config_home(env) / APP_NAME


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """The default configuration file, ``<config dir>/config.toml`` (it may not exist)."""
    return config_dir(env) / CONFIG_FILE_NAME


def themes_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where user themes live, ``<config dir>/themes``."""
    return config_dir(env) / "themes"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The console's data directory (investigations), ``$XDG_DATA_HOME/opsconsole``."""
    return data_home(env) / APP_NAME


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """State worth keeping across runs but not precious, ``$XDG_STATE_HOME/opsconsole``."""
    return state_home(env) / APP_NAME


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Disposable files, ``$XDG_CACHE_HOME/opsconsole``."""
    return cache_home(env) / APP_NAME


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents, private to the user as the spec asks; return it.

    Existing directories keep their permissions: the user may have chosen them.
    """
    missing = [path, *(parent for parent in path.parents if not parent.exists())]
    # mkdir(parents=True) would give the parents the umask's mode, not 0700.
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    return path
