"""The console's settings: defaults, a TOML file, environment overrides, and clear errors.

Headless (no textual). Precedence, lowest first: built-in defaults, the file
(``--config``, else ``$OPSCONSOLE_CONFIG``, else ``<config dir>/config.toml`` when it exists),
environment variables, command-line options. Loading never writes anything.

Every setting has a dotted key (``general.refresh``, ``thresholds.cpu.warning``) that is both
its place in the file and, upper-cased with ``_``, its environment variable
(``OPSCONSOLE_THRESHOLDS_CPU_WARNING``); the three everyday ones are shorter:
``OPSCONSOLE_REFRESH``, ``OPSCONSOLE_THEME`` and ``OPSCONSOLE_READ_ONLY``. An empty variable
counts as unset.

A bad value is a ``ConfigError`` whose text is one line naming where the value came from (file
and line, or variable), the key and the reason, so an engineer on a sick box fixes it at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from datetime import date, datetime, time
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, dataclass_transform

from opsconsole import paths
from opsconsole.sources.text import safe_text

if TYPE_CHECKING:  # the MQTT client is imported only when a broker is used
    from opsconsole.sources.mqtt_link import MqttSettings

ENV_PREFIX: Final = "OPSCONSOLE_"
ENV_CONFIG: Final = "OPSCONSOLE_CONFIG"
"""Names the configuration file to read instead of the default one."""

MAX_CONFIG_BYTES: Final = 1 << 20
"""A configuration file larger than this is refused rather than read into memory."""

Level = Literal["ok", "warning", "critical"]

_R = TypeVar("_R")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def _record(cls: type[_R]) -> type[_R]:
    """``dataclass(frozen=True)``, less its cost at import.

    dataclass writes each class its __init__, __repr__, __eq__, __hash__, __setattr__ and
    __delattr__ as source text and execs it: 19M of the 29M instructions importing this module
    cost at every start. These are the same methods, shared; the class is still a dataclass to
    ``dataclasses.fields``, ``replace`` and ``is_dataclass``.
    """
    dataclass(init=False, repr=False, eq=False)(cls)  # records the fields, generates nothing
    specs = fields(cls)  # type: ignore[arg-type]
    names = tuple(spec.name for spec in specs)
    values = attrgetter(*names)  # the tuple dataclass compares and hashes

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments")
        given = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names or name in given:
                raise TypeError(f"{cls.__name__}() got an unexpected argument {name!r}")
            given[name] = value
        for spec in specs:
            if spec.name in given:
                value = given[spec.name]
            elif spec.default is not MISSING:
                value = spec.default
            elif spec.default_factory is not MISSING:
                value = spec.default_factory()
            else:
                raise TypeError(f"{cls.__name__}() missing argument {spec.name!r}")
            object.__setattr__(self, spec.name, value)

    def __repr__(self: object) -> str:
        shown = ", ".join(
            f"{spec.name}={getattr(self, spec.name)!r}" for spec in specs if spec.repr
        )
        return f"{cls.__qualname__}({shown})"

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(values(self) == values(other))

    def __hash__(self: object) -> int:
        return hash(values(self))

    def __setattr__(self: object, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self: object, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    for method in (__init__, __repr__, __eq__, __hash__, __setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    return cls


@_record
class Threshold:
    """Levels at which a figure turns to warning and to critical (inclusive)."""

    warning: float
    critical: float

    def level(self, value: float | None) -> Level:
        """The level of ``value``; an unknown figure (None, NaN) is never an alarm."""
        if value is not None and value >= self.critical:
            return "critical"
        if value is not None and value >= self.warning:
            return "warning"
        return "ok"


DEFAULT_THRESHOLDS: Final[Mapping[str, Threshold]] = MappingProxyType(
    {
        # Percent busy, HostSample.cpu_percent (also used per core).
        "cpu": Threshold(70.0, 90.0),
        # Percent of RAM used, HostSample.mem_percent.
        "memory": Threshold(70.0, 90.0),
        # Percent of swap used: any steady swapping already hurts, so lower than memory.
        "swap": Threshold(50.0, 80.0),
        # Percent of a filesystem used, DiskUsage.percent.
        "disk": Threshold(80.0, 90.0),
        # One-minute load average per core: 1.0 is a full run queue, 2.0 twice what it can do.
        "load": Threshold(1.0, 2.0),
        # Percent of the cgroup's CPU quota and memory limit in use.
        "cgroup_cpu": Threshold(80.0, 95.0),
        "cgroup_memory": Threshold(80.0, 95.0),
    }
)
"""Threshold defaults, close to glances's, one per metric the host pane colours."""


@_record
class ContainersConfig:
    """Settings of the container sources (the ``[containers]`` table of the config)."""

    discover: bool = True
    """Find engines by the environment and the well-known sockets."""
    engines: tuple[str, ...] = ()
    """More engines, each ``podman=unix:///path`` or ``docker=tcp://host:2375``."""
    relist_interval: float = 10.0
    """Seconds between full lists when no event asked for one (events catch the rest)."""
    stats: bool = True
    """Stream stats of running containers."""
    max_stats_streams: int = 256
    """Running containers whose stats stream at once, at most (a thread each)."""
    stats_interval: float = 1.0
    """Seconds between two stats batches (each has the latest read of every container)."""
    inspect_concurrency: int = 4
    """Inspects in flight at once per engine."""


@_record
class InvestigationConfig:
    """Where the investigation keeps its things: ``[investigation]`` in the config file
    (headless, so the config module can hold one)."""

    store: Path | None = None
    """The SQLite store; None for ``<data dir>/investigations.db``."""
    templates: Path | None = None
    """User templates; None for ``<config dir>/templates``."""
    export_dir: Path | None = None
    """Where the UI's export writes; None for ``<data dir>/reports``."""
    read_only: bool = False
    """Open the store read-only (a colleague's copy, a war-room screen)."""


@_record
class MqttConfig:
    """``[mqtt]``: the broker for alerts and the fleet. No URL, no MQTT."""

    url: str | None = None
    """``mqtt://HOST[:PORT]`` or ``mqtts://...``; never with a password in it."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    """A file holding the password (kept out of the config file and of ``ps``)."""
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    client_id: str | None = None
    keepalive: int | None = None

    def settings(self, url: str | None = None) -> MqttSettings:
        """Connection settings for ``url`` (default: this config's); MqttConfigError if bad."""
        from opsconsole.sources.mqtt_link import MqttConfigError, MqttSettings

        target = url or self.url
        if not target:
            raise MqttConfigError("no broker: give --mqtt URL or set mqtt.url")
        password = self.password
        if password is None and self.password_file is not None:
            try:
                password = self.password_file.read_text().rstrip("\r\n")
            except OSError as exc:
                raise MqttConfigError(
                    f"mqtt.password_file: {safe_text(str(self.password_file))}: "
                    f"{exc.strerror or exc}"
                ) from None
        # The environment is already merged into this config: the link must not read it again.
        return MqttSettings.from_url(
            target,
            {},
            username=self.username,
            password=password,
            ca_file=self.ca,
            cert_file=self.cert,
            key_file=self.key,
            client_id=self.client_id,
            keepalive=self.keepalive,
        )


@_record
class Config:
    """The settings the console runs with."""

    refresh: float = 1.0
    """Seconds between host samples (0.1 to 3600)."""
    theme: str = "opsconsole-dark"
    read_only: bool = False
    """Refuse every action that changes the host (kill, restart, ...)."""
    history_minutes: int = 15
    """Minutes of sparkline history kept (10 to 1440)."""
    process_rows: int = 200
    """Busiest processes listed (1 to 5000)."""
    flight_recorder_minutes: float = 0.0
    """Minutes of the stream kept in memory to write as a bundle on demand (ctrl+b) or when a
    critical alert fires; 0 (the default) keeps none, as it costs memory on a sick box."""
    thresholds: Mapping[str, Threshold] = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    containers: ContainersConfig = field(default_factory=ContainersConfig)
    """``[containers]``: which engines, how often to list, stats streams."""
    investigation: InvestigationConfig = field(default_factory=InvestigationConfig)
    """``[investigation]``: where the store, templates and exports are."""
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    """``[mqtt]``: the broker, when there is one."""
    config_path: Path | None = None
    """The file the settings were read from; None when no file was read."""


class ConfigError(Exception):
    """A setting that cannot be used; ``str()`` is one line fit to show the user as is."""

    def __init__(self, where: str, key: str | None, reason: str) -> None:
        self.where = where
        """``path:line``, ``path``, ``$VARIABLE`` or ``command line``."""
        self.key = key
        self.reason = reason
        parts = [where, key, reason] if key else [where, reason]
        super().__init__("config error: " + safe_text(": ".join(parts)))


# --- the settings ------------------------------------------------------------------------


class _Invalid(ValueError):
    """A value that does not fit its setting; the message is the reason."""


# The kinds are plain classes, not dataclasses: the methods dataclasses generate (with exec, at
# import) were a third of what importing this module cost, at every start.
class _Kind:
    """How a setting's values are checked."""

    __slots__ = ()

    def check(self, value: object) -> Any:
        """The value from TOML (or already typed), validated; raises _Invalid."""
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """The value from the text of a variable or option, validated; raises _Invalid."""
        return self.check(text)


class _Number(_Kind):
    __slots__ = ("high", "integer", "low")

    def __init__(self, low: float, high: float, integer: bool = False) -> None:
        self.low: Final = low
        self.high: Final = high
        self.integer: Final = integer

    def _expected(self, value: object) -> _Invalid:
        return _Invalid(
            f"expected {'an integer' if self.integer else 'a number'}, got {_show(value)}"
        )

    def check(self, value: object) -> float | int:
        # bool is an int to Python but never a number to a person writing TOML.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._expected(value)
        if self.integer and not isinstance(value, int):
            raise self._expected(value)
        if not self.low <= value <= self.high:  # also refuses NaN
            raise _Invalid(f"must be between {self.low:g} and {self.high:g}, got {_show(value)}")
        return value if self.integer else float(value)

    def parse(self, text: str) -> float | int:
        value: float | int
        try:
            value = int(text)  # first, so that "0" is shown back as 0, not 0.0
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise self._expected(text) from None
        return self.check(value)


_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off")


class _Bool(_Kind):
    __slots__ = ()

    def check(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise _Invalid(f"expected true or false, got {_show(value)}")
        return value

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise _Invalid(f"expected one of {', '.join(_TRUE + _FALSE)}, got {_show(text)}")


THEME_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a theme name may be: the config's rule, shared by the user-theme loader."""


class _Name(_Kind):
    __slots__ = ()

    def check(self, value: object) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected a name in quotes, got {_show(value)}")
        if not THEME_NAME.fullmatch(value):
            raise _Invalid(
                f"expected a name of up to 64 letters, digits, '.', '_' or '-', got {_show(value)}"
            )
        return value


class _Path(_Kind):
    __slots__ = ()

    def check(self, value: object) -> Path:
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise _Invalid(f"expected a path in quotes, got {_show(value)}")
        return Path(value).expanduser()


class _Text(_Kind):
    """A string in quotes; ``prefixes``, when given, are the ways it may start."""

    __slots__ = ("prefixes", "what")

    def __init__(self, what: str, prefixes: tuple[str, ...] = ()) -> None:
        self.what: Final = what
        self.prefixes: Final = prefixes

    def check(self, value: object) -> str:
        if (
            not isinstance(value, str)
            or not value
            or "\0" in value
            or (self.prefixes and not value.startswith(self.prefixes))
        ):
            raise _Invalid(f"expected {self.what} in quotes, got {_show(value)}")
        return value


class _Engines(_Kind):
    """A list of ``podman=URL`` / ``docker=URL``; in a variable, separated by commas."""

    __slots__ = ()

    def check(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _Invalid(f'expected a list such as ["podman=unix:///path"], got {_show(value)}')
        from opsconsole.sources.engine import parse_engine  # the adapters load only when used

        for item in value:
            try:
                parse_engine(item)
            except ValueError as error:
                raise _Invalid(str(error)) from None
        return tuple(value)

    def parse(self, text: str) -> tuple[str, ...]:
        return self.check([item.strip() for item in text.split(",") if item.strip()])


# Dotted key -> Config attribute, for the settings that are plain Config fields.
_ATTRIBUTES: Final = {
    "general.refresh": "refresh",
    "general.theme": "theme",
    "general.read_only": "read_only",
    "general.history_minutes": "history_minutes",
    "general.flight_recorder_minutes": "flight_recorder_minutes",
    "processes.rows": "process_rows",
}
# Sections held by their owner's own settings class: table -> Config attribute. Each setting
# of the table is the field of the same name.
_SECTIONS: Final = {
    "containers": "containers",
    "investigation": "investigation",
    "mqtt": "mqtt",
}
_THRESHOLD_LIMIT: Final = {"load": 100.0}
"""Highest threshold a metric accepts when it is not a percentage."""

_SETTINGS: Final[Mapping[str, _Kind]] = {
    "general.refresh": _Number(0.1, 3600),
    "general.theme": _Name(),
    "general.read_only": _Bool(),
    "general.history_minutes": _Number(10, 1440, integer=True),
    "general.flight_recorder_minutes": _Number(0, 120),
    "processes.rows": _Number(1, 5000, integer=True),
    "containers.discover": _Bool(),
    "containers.engines": _Engines(),
    "containers.relist_interval": _Number(1, 3600),
    "containers.stats": _Bool(),
    "containers.max_stats_streams": _Number(0, 4096, integer=True),
    "containers.stats_interval": _Number(0.2, 3600),
    "containers.inspect_concurrency": _Number(1, 64, integer=True),
    "investigation.store": _Path(),
    "investigation.templates": _Path(),
    "investigation.export_dir": _Path(),
    "investigation.read_only": _Bool(),
    "mqtt.url": _Text("mqtt://HOST[:PORT] or mqtts://HOST[:PORT]", ("mqtt://", "mqtts://")),
    "mqtt.username": _Text("a user name"),
    "mqtt.password": _Text("a password"),
    "mqtt.password_file": _Path(),
    "mqtt.ca": _Path(),
    "mqtt.cert": _Path(),
    "mqtt.key": _Path(),
    "mqtt.client_id": _Text("a client id"),
    "mqtt.keepalive": _Number(5, 3600, integer=True),
    **{
        f"thresholds.{metric}.{level}": _Number(0, _THRESHOLD_LIMIT.get(metric, 100.0))
        for metric in DEFAULT_THRESHOLDS
        for level in ("warning", "critical")
    },
}
# Every table that holds settings, as key paths: ("general",), ("thresholds", "cpu"), ...
_TABLES: Final = frozenset(
    tuple(key.split("."))[:depth] for key in _SETTINGS for depth in range(1, key.count(".") + 1)
)
_PATHS: Final = _TABLES | {tuple(key.split(".")) for key in _SETTINGS}
_ENV_SHORT: Final = {
    "general.refresh": "OPSCONSOLE_REFRESH",
    "general.theme": "OPSCONSOLE_THEME",
    "general.read_only": "OPSCONSOLE_READ_ONLY",
}


def env_name(key: str) -> str:
    """The environment variable that overrides the setting ``key``."""
    return _ENV_SHORT.get(key) or ENV_PREFIX + key.replace(".", "_").upper()


_ENV_KEYS: Final = {env_name(key): key for key in _SETTINGS}
# Variables under these prefixes are ours for sure, so a misspelt one is an error, not ignored.
_ENV_SECTIONS: Final = tuple(ENV_PREFIX + table[0].upper() + "_" for table in _TABLES)


def parse_setting(key: str, text: str) -> Any:
    """The value of setting ``key`` given as text (an option's argument); ValueError if bad."""
    return _SETTINGS[key].parse(text)


# --- loading -----------------------------------------------------------------------------


def config_file(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The file ``load_config`` reads: ``path``, else ``$OPSCONSOLE_CONFIG``, else the default.

    The default file may not exist; the others are what the user named.
    """
    environ = os.environ if env is None else env
    if path is not None:
        return path.absolute()
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).absolute()
    return paths.config_file(environ)


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read the settings; raise ``ConfigError`` on the first bad one.

    ``path`` (a ``--config`` option) or ``$OPSCONSOLE_CONFIG`` must exist; the default file is
    read only if it does. ``env`` defaults to ``os.environ``. ``overrides`` maps dotted keys to
    values from the command line, which win over everything.
    """
    environ = os.environ if env is None else env
    file = config_file(path, environ)
    named = path is not None or bool(environ.get(ENV_CONFIG))
    # (value, where it came from, precedence) per key; the highest precedence wins.
    chosen: dict[str, tuple[Any, str, int]] = {
        key: (value, "defaults", 0) for key, value in _flatten(Config()).items()
    }
    from_file = _read_file(file, must_exist=named)
    for key, (value, where) in (from_file or {}).items():
        chosen[key] = (value, where, 1)
    for key, (value, where) in _read_env(environ, skip=set(overrides or ())).items():
        chosen[key] = (value, where, 2)
    for key, value in (overrides or {}).items():
        chosen[key] = (_checked(key, value, "command line"), "command line", 3)
    _check_thresholds(chosen)
    values = {key: value for key, (value, _, _) in chosen.items()}
    return Config(
        **{attribute: values[key] for key, attribute in _ATTRIBUTES.items()},
        thresholds=MappingProxyType(
            {
                metric: Threshold(
                    values[f"thresholds.{metric}.warning"], values[f"thresholds.{metric}.critical"]
                )
                for metric in DEFAULT_THRESHOLDS
            }
        ),
        **{
            attribute: type(getattr(Config(), attribute))(
                **{
                    key.partition(".")[2]: value
                    for key, value in values.items()
                    if key.partition(".")[0] == table
                }
            )
            for table, attribute in _SECTIONS.items()
        },
        config_path=None if from_file is None else file,
    )


def _flatten(config: Config) -> dict[str, Any]:
    values = {key: getattr(config, attribute) for key, attribute in _ATTRIBUTES.items()}
    for key in _SETTINGS:
        table, _, name = key.partition(".")
        if table in _SECTIONS:
            values[key] = getattr(getattr(config, _SECTIONS[table]), name)
    for metric, threshold in config.thresholds.items():
        values[f"thresholds.{metric}.warning"] = threshold.warning
        values[f"thresholds.{metric}.critical"] = threshold.critical
    return values


def _checked(key: str, value: object, where: str) -> Any:
    try:
        return _SETTINGS[key].check(value)
    except _Invalid as error:
        raise ConfigError(where, key, str(error)) from None


def _check_thresholds(chosen: Mapping[str, tuple[Any, str, int]]) -> None:
    for metric in DEFAULT_THRESHOLDS:
        warning = chosen[f"thresholds.{metric}.warning"]
        critical = chosen[f"thresholds.{metric}.critical"]
        if warning[0] > critical[0]:
            # Blame the one set with the higher precedence: that is the one just changed.
            where = warning[1] if warning[2] >= critical[2] else critical[1]
            raise ConfigError(
                where,
                f"thresholds.{metric}",
                f"warning ({warning[0]:g}) is above critical ({critical[0]:g})",
            )


def _read_env(env: Mapping[str, str], skip: set[str]) -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    for name, text in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG or not text:
            continue
        where = "$" + name
        key = _ENV_KEYS.get(name)
        if key is None:
            if name.startswith(_ENV_SECTIONS):
                shown = {other: "$" + other for other in _ENV_KEYS}
                hint = _hint(name, shown, shown.values())
                raise ConfigError(where, None, "unknown variable" + hint)
            continue  # another part of opsconsole may own it
        if key in skip:
            continue
        try:
            found[key] = (_SETTINGS[key].parse(text), where)
        except _Invalid as error:
            raise ConfigError(where, key, str(error)) from None
    return found


def _read_file(file: Path, *, must_exist: bool) -> dict[str, tuple[Any, str]] | None:
    """The settings in ``file`` with where each is; None if it is absent and may be."""
    shown = str(file)
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        if not must_exist:
            return None
        raise ConfigError(shown, None, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(shown, None, "is a directory, not a file") from None
    except PermissionError:
        raise ConfigError(shown, None, "permission denied") from None
    except OSError as error:
        raise ConfigError(shown, None, error.strerror or str(error)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(shown, None, f"larger than {MAX_CONFIG_BYTES >> 20} MiB")
    data = data.removeprefix(b"\xef\xbb\xbf")  # a BOM some editors add
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{shown}:{line}", None, f"not UTF-8 text (byte 0x{data[error.start]:02x})"
        ) from None
    import tomllib  # only when there is a config file: most starts have none

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(shown, str(error)) from None

    lines = _key_lines(text)

    def where(key: tuple[str, ...]) -> str:
        line = _line_of(lines, key)
        return shown if line is None else f"{shown}:{line}"

    return {
        key: (_checked(key, value, place), place)
        for key, (value, place) in _settings_in(document, where).items()
    }


# Text, compiled on first use (re caches it): only a broken file needs it.
_TOML_POSITION: Final = r"(?P<reason>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)"


def _syntax_error(shown: str, message: str) -> ConfigError:
    # tomllib (3.11) has the position only in the message: "Invalid value (at line 3, column 9)".
    match = re.fullmatch(_TOML_POSITION, message)
    if match is None:
        where, reason = shown, message.replace(" (at end of document)", " at the end")
    else:
        where = f"{shown}:{match['line']}:{match['col']}"
        reason = match["reason"]
    return ConfigError(where, None, "invalid TOML: " + reason[:1].lower() + reason[1:])


def _settings_in(
    document: Mapping[str, Any], where: Callable[[tuple[str, ...]], str]
) -> dict[str, tuple[Any, str]]:
    """Every setting in a parsed file by dotted key; unknown keys and misplaced tables raise."""
    found: dict[str, tuple[Any, str]] = {}

    def walk(table: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for name, value in table.items():
            path = (*prefix, name)
            dotted = ".".join(path)
            if "." not in name and dotted in _SETTINGS:
                found[dotted] = (value, where(path))
            elif "." not in name and path in _TABLES:
                if not isinstance(value, dict):
                    raise ConfigError(where(path), dotted, f"expected a table, got {_show(value)}")
                walk(value, path)
            else:
                raise _unknown(path, value, where(path))

    walk(document, ())
    return found


def _unknown(path: tuple[str, ...], value: object, where: str) -> ConfigError:
    # Suggest a key of the same table first, else a setting of that name in another table
    # (`rows` under [general] -> processes.rows).
    siblings = {key[-1]: ".".join(key) for key in _PATHS if key[:-1] == path[:-1]}
    choices = {key.rsplit(".", 1)[-1]: key for key in _SETTINGS} | siblings
    noun = "section" if isinstance(value, dict) else "key"
    hint = _hint(path[-1], choices, siblings.values())
    return ConfigError(where, ".".join(path), f"unknown {noun}{hint}")


def _hint(word: str, choices: Mapping[str, str], valid: Iterable[str]) -> str:
    """`` (did you mean X?)`` with the value of the key in ``choices`` closest to ``word``;
    failing that, the ``valid`` names."""
    import difflib  # only on the error path: keeps every start a little faster

    close = difflib.get_close_matches(word, list(choices), n=1)
    if close:
        return f" (did you mean {choices[close[0]]}?)"
    return f" (expected one of: {', '.join(sorted(valid))})"


# --- finding the line of a key -----------------------------------------------------------
# tomllib reports no positions for keys, so the text is scanned: table headers set the current
# table, `a.b = ...` lines define keys under it. Multi-line strings are not skipped: no setting
# is a free string, so the first error is at or before any. A key that cannot be placed is
# reported with the file name alone.

# Text, compiled on first use (re caches it): most starts read no file, and compiling this and
# _TOML_POSITION cost every start about 0.7 ms.
_KEY_PART: Final = r"\s*(?:([A-Za-z0-9_-]+)|\"((?:[^\"\\]|\\.)*)\"|'([^']*)')\s*"


def _key_at(line: str, pos: int) -> tuple[tuple[str, ...], int] | None:
    """The dotted key starting at ``pos`` and the index after it, or None if there is none."""
    key_part = re.compile(_KEY_PART)
    parts: list[str] = []
    while match := key_part.match(line, pos):
        parts.append(next(group for group in match.groups() if group is not None))
        pos = match.end()
        if not line.startswith(".", pos):
            return tuple(parts), pos
        pos += 1
    return None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The first line of each table header and key, by full key path."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.split("\n"), start=1):  # tomllib counts "\n" only
        start = len(line) - len(line.lstrip())
        if line.startswith("[", start):
            header = _key_at(line, start + (2 if line.startswith("[[", start) else 1))
            if header is not None:
                table = header[0]
                lines.setdefault(table, number)
            continue
        found = _key_at(line, start)
        if found is None or not line.startswith("=", found[1]):
            continue
        lines.setdefault((*table, *found[0]), number)
    return lines


def _line_of(lines: Mapping[tuple[str, ...], int], key: tuple[str, ...]) -> int | None:
    """The line of ``key``, else of the nearest table holding it, else of the first key in it."""
    for depth in range(len(key), 0, -1):
        if key[:depth] in lines:
            return lines[key[:depth]]
    return min((n for k, n in lines.items() if k[: len(key)] == key), default=None)


# --- showing values ----------------------------------------------------------------------


def _show(value: object) -> str:
    """A value as the user wrote it, short: ``"high"``, ``5``, ``true``, ``a table``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + (value if len(value) <= 40 else value[:40] + "...") + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime | date | time):
        return "a date or time"
    return type(value).__name__
