"""The ``opsconsole`` command.

Startup must stay quick on a sick host, so textual and the app are imported only when the UI
actually runs: ``--help``, ``--version`` and ``locate`` load nothing heavier than argparse. The
console and the log view, as they are usually started, are parsed without argparse at all
(``_quick_args``).
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, NoReturn

from opsconsole import __version__, logs_cli, paths
from opsconsole.config import (
    Config,
    ConfigError,
    config_file,
    load_config,
    parse_setting,
)
from opsconsole.sources.text import safe_text

if TYPE_CHECKING:  # loaded only when argparse parses: see _quick_args
    import argparse

EXIT_USAGE = 2
"""Exit status for a bad option or a bad configuration, as argparse uses."""

MAX_SPEED = 1000.0

_EPILOG = """\
environment:
  OPSCONSOLE_CONFIG     configuration file to read instead of the default one
  OPSCONSOLE_REFRESH, OPSCONSOLE_THEME, OPSCONSOLE_READ_ONLY
                        override the [general] settings of the file
  OPSCONSOLE_<SECTION>_<KEY>
                        override any other setting, e.g. OPSCONSOLE_THRESHOLDS_CPU_WARNING
  XDG_CONFIG_HOME, XDG_DATA_HOME
                        where the configuration and the data directories live

Options win over the environment, which wins over the file."""


def _bad(message: str) -> Exception:
    """The error an option's type raises for argparse to show ``message``."""
    import argparse  # loaded already: only argparse calls the types

    return argparse.ArgumentTypeError(message)


def _setting(key: str) -> Callable[[str], Any]:
    """An argparse type that validates the option as the setting ``key``."""

    def parse(text: str) -> Any:
        try:
            return parse_setting(key, text)
        except ValueError as error:
            raise _bad(str(error)) from None

    return parse


def _speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        raise _bad(f'expected a number, got "{safe_text(text)}"') from None
    if not 0 <= speed <= MAX_SPEED:  # also refuses NaN
        raise _bad(f"must be between 0 and {MAX_SPEED:g}, got {text}")
    return speed


def _recording(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise _bad(f"{safe_text(text)}: is a directory, not a file")
    if not path.exists():
        raise _bad(f"{safe_text(text)}: no such file")
    return path


def _add_console_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """The options that shape the console, on the main parser and again after ``replay``.

    The subcommand's copies default to SUPPRESS so that they do not reset values given before it.
    """
    parser.add_argument(
        "--refresh",
        metavar="SECONDS",
        type=_setting("general.refresh"),
        default=default,
        help="seconds between host samples (0.1 to 3600; default 1)",
    )
    parser.add_argument(
        "--theme",
        metavar="NAME",
        type=_setting("general.theme"),
        default=default,
        help="colour theme (default opsconsole-dark)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=default,
        help="refuse every action that would change the host",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        type=_setting("mqtt.url"),
        default=default,
        help="MQTT broker for alerts and the fleet, mqtt://HOST[:PORT] or mqtts://... "
        "(credentials from the config or $OPSCONSOLE_MQTT_*, never here)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        default=default,
        help="configuration file (default: see 'opsconsole locate config')",
    )


# The subcommands' arguments live here, so that parsing imports nothing heavy; each
# command's module is imported only when it runs.


def _incident_ref(text: str) -> int:
    match = re.fullmatch(r"(?:INC-)?(\d+)", text.strip(), re.IGNORECASE)
    if match is None:
        raise _bad(f'expected an incident number like 3 or INC-3, got "{safe_text(text)}"')
    return int(match.group(1))


def _add_report(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole report``: run by opsconsole.report."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write an incident's report or shift handoff",
        description="Write the Markdown report of an incident (its summary, timeline, tracker,"
        " notes and the evidence they cite), its shift handoff, or everything as JSON."
        " The store is only read.",
    )
    parser.add_argument(
        "incident",
        metavar="INCIDENT",
        nargs="?",
        type=_incident_ref,
        help="incident number, e.g. 3 or INC-3 (default: the one the console has open)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        help="write here instead of standard output (for --handoff: a file or a directory)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--json", action="store_true", help="everything as JSON")
    what.add_argument(
        "--handoff",
        action="store_true",
        help="the shift handoff, written as <timestamp>_handoff.md (in the current directory"
        " unless -o says otherwise)",
    )
    parser.add_argument(
        "--store",
        metavar="PATH",
        type=Path,
        help="investigation store (default: investigations.db in the data directory)",
    )
    return parser


def _host_name(text: str) -> str:
    if not text or len(text) > 253 or any(c in text for c in "/+#") or not text.isprintable():
        raise _bad(
            f"{safe_text(text)!r}: a host name of 1 to 253 printable characters without / + #"
        )
    return text


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(f"expected a number, got {safe_text(text)!r}") from None
    if not 0.1 <= value <= 3600:
        raise _bad(f"must be between 0.1 and 3600, got {text}")
    return value


def _add_agent(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole agent``: run by opsconsole.agent."""
    import argparse

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "agent",
        help="publish this host's event stream to an MQTT broker (headless)",
        description="Publish this host's events to an MQTT broker under "
        "opsconsole/v1/<host>/..., for consoles started with --mqtt. Needs no terminal. "
        "Credentials: OPSCONSOLE_MQTT_USERNAME, OPSCONSOLE_MQTT_PASSWORD (or "
        "OPSCONSOLE_MQTT_PASSWORD_FILE); TLS: OPSCONSOLE_MQTT_CA, OPSCONSOLE_MQTT_CERT, "
        "OPSCONSOLE_MQTT_KEY.",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        # SUPPRESS: not given after `agent`, it keeps a --mqtt given before it.
        default=argparse.SUPPRESS,
        help="broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (default $OPSCONSOLE_MQTT_URL); "
        "no password here",
    )
    parser.add_argument(
        "--host",
        metavar="NAME",
        type=_host_name,
        default=None,
        help="name to publish as (default: this host's name)",
    )
    parser.add_argument(
        "--interval",
        metavar="SECONDS",
        type=_positive,
        default=5.0,
        help="seconds between samples and between two publications of a state (default 5)",
    )
    parser.add_argument(
        "--stream-rate",
        metavar="N",
        type=_positive,
        default=20.0,
        help="alerts, log and container-change messages a second at most (default 20)",
    )
    return parser


_UNITS: Final = {"s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h`` as seconds (argparse type: ArgumentTypeError when bad)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise _bad(f"expected a duration like 30s, 5m or 1h, got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _add_capture(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole capture``: run by opsconsole.capture."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "capture",
        help="record this host into a bundle for offline investigation (headless)",
        description="Record every source's events (host, containers, alerts) for a while, plus"
        " snapshots (host facts, processes, config, container inspects and logs) and the open"
        " investigation, into a bundle that 'opsconsole open' replays. Secrets are redacted"
        " unless --no-redact. Ctrl+C stops early and still writes the bundle.",
    )
    parser.add_argument(
        "--duration",
        metavar="TIME",
        type=_duration,
        default=300.0,
        help="how long to record: 30s, 5m, 1h (default 5m)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        type=Path,
        default=None,
        help="bundle to write (default ./opsconsole-<host>-<time>[.tar.gz]); must not exist",
    )
    parser.add_argument(
        "--no-redact",
        dest="redact",
        action="store_false",
        help="keep secrets as they are (recorded in the manifest)",
    )
    parser.add_argument(
        "--format",
        choices=("dir", "tar.gz", "tar.zst"),  # bundle.FORMATS: parsing loads no bundle code
        default="tar.gz",
        help="a directory, a .tar.gz (default) or a .tar.zst (needs zstandard)",
    )
    parser.add_argument(
        "--log",
        metavar="PATH",
        action="append",
        default=[],
        help="also take this log file, directory or glob (repeatable); the host's usual logs"
        " and the journal are always taken, each cut to its newest part",
    )
    return parser


def _add_open(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole open``: run by opsconsole.open_cli."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "open",
        help="open a captured bundle or a sosreport in the console (or --check it)",
        description="Replay a bundle written by 'opsconsole capture' (a directory, .tar.gz or"
        " .tar.zst) or explore a sosreport (a directory, .tar.xz or .tar.gz) in the console."
        " Replay keys: space play/pause, + - speed, [ ] seek, a e next alert/error. The"
        " bundle's investigation opens as a copy in the data directory.",
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="bundle or sosreport")
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify it without opening the UI: exit 0 when sound, 1 with one line per problem",
    )
    parser.add_argument(
        "--speed",
        metavar="X",
        type=float,
        default=1.0,
        help="replay speed to start at (default 1; 0 as fast as possible)",
    )
    parser.add_argument("--paused", action="store_true", help="start with the replay paused")
    return parser


def _add_replay(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole replay``: run by opsconsole.app."""
    import argparse

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay", help="replay a recorded event stream", description="Replay a recording."
    )
    parser.add_argument("file", metavar="FILE", type=_recording, help="JSON-lines event stream")
    parser.add_argument(
        "--speed",
        metavar="X",
        type=_speed,
        default=1.0,
        help="1 plays at the recorded pace, 2 twice as fast, 0 as fast as possible (default 1)",
    )
    _add_console_options(parser, argparse.SUPPRESS)
    return parser


def _add_locate(subparsers: Any) -> argparse.ArgumentParser:
    """``opsconsole locate``: run here."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "locate",
        help="print where the config file, data or themes directory is",
        description="Print the path of each named location, one per line. Creates nothing.",
    )
    parser.add_argument(
        "names",
        metavar="WHAT",
        nargs="+",
        choices=("config", "data", "themes"),
        help="config (the configuration file), data or themes (directories)",
    )
    return parser


_COMMANDS: Final[Mapping[str, Callable[[Any], argparse.ArgumentParser]]] = {
    "replay": _add_replay,
    "locate": _add_locate,
    "logs": logs_cli.add_parser,
    "capture": _add_capture,
    "open": _add_open,
    "report": _add_report,
    "agent": _add_agent,
}
"""Each command and what adds its parser, in the order help lists them."""


_MAIN_PARSER: Final[Mapping[str, Any]] = {
    "prog": "opsconsole",
    "usage": "%(prog)s [-h] [--version] [--refresh SECONDS] [--theme NAME] [--read-only]\n"
    "                  [--config PATH] [COMMAND ...]",
    "description": "A keyboard-first terminal console for production support.\n"
    "Without a command it runs the live console on this host.",
    "epilog": _EPILOG,
}


def build_parser() -> argparse.ArgumentParser:
    """The command line parser (also used by tests and the README's usage)."""
    import argparse

    parser = argparse.ArgumentParser(
        **_MAIN_PARSER, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return _with_commands(parser, _COMMANDS)


def _with_commands(
    parser: argparse.ArgumentParser, names: Iterable[str]
) -> argparse.ArgumentParser:
    """``parser`` with the main options and the commands ``names``."""
    import argparse

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_console_options(parser, None)
    # prog given: the default derives it from the custom usage. parser_class given: the default,
    # the main parser's class, may be _NamedCommandsParser.
    commands = parser.add_subparsers(
        title="commands",
        dest="command",
        metavar="COMMAND",
        prog="opsconsole",
        parser_class=argparse.ArgumentParser,
    )
    for name in names:
        _COMMANDS[name](commands)
    return parser


def _parse_args(arguments: list[str]) -> argparse.Namespace:
    """``build_parser().parse_args(arguments)``, quicker: only the command named is built."""
    import argparse

    class NamedCommandsParser(argparse.ArgumentParser):
        """The main parser with only the commands ``arguments`` names.

        A command's parser costs about 1M instructions to build (argparse looks up its words
        with gettext and measures the terminal for each option), and argparse takes a command
        by its full name only, so the commands not named are never chosen. Help and errors,
        which may list all of them, come from the full parser.
        """

        def format_help(self) -> str:
            return build_parser().format_help()

        def error(self, message: str) -> NoReturn:
            # Parsing again with every command exits with its message (an invalid command
            # there lists them all). What fails here fails there: super().error is a backstop.
            build_parser().parse_args(arguments)
            super().error(message)

    parser = NamedCommandsParser(
        **_MAIN_PARSER, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    named = [name for name in _COMMANDS if name in arguments]
    return _with_commands(parser, named).parse_args(arguments)


_QUICK_OPTIONS: Final = {
    "--refresh": ("refresh", "general.refresh"),
    "--theme": ("theme", "general.theme"),
    "--mqtt": ("mqtt", "mqtt.url"),
    "--config": ("config", None),
}
"""The main options _quick_args takes with a value: the attribute and the setting it is."""


def _quick_args(arguments: Sequence[str]) -> SimpleNamespace | None:
    """What ``build_parser().parse_args(arguments)`` gives, for the console and ``logs`` run
    plainly; None for anything else (help, other commands, ``--opt=value``, abbreviations,
    values that look like options or are invalid), which argparse then parses or refuses.

    Importing argparse and building the parser cost about 14M instructions of each start.
    """
    main: dict[str, Any] = dict.fromkeys(("refresh", "theme", "read_only", "mqtt", "config"))
    words = iter(arguments)
    for word in words:
        if word == "logs":
            logs = logs_cli.quick_args(list(words))
            return None if logs is None else SimpleNamespace(**main, command="logs", **logs)
        if word == "--read-only":
            main["read_only"] = True
            continue
        value = next(words, None)
        if word not in _QUICK_OPTIONS or value is None or value.startswith("-"):
            return None
        attribute, key = _QUICK_OPTIONS[word]
        try:
            main[attribute] = Path(value) if key is None else parse_setting(key, value)
        except ValueError:
            return None  # argparse gives the error
    return SimpleNamespace(**main, command=None)


def config_from_args(args: argparse.Namespace | SimpleNamespace, env: Mapping[str, str]) -> Config:
    """The Config for parsed ``args``: options over ``env`` over the file; ConfigError if bad."""
    overrides: dict[str, Any] = {}
    if args.refresh is not None:
        overrides["general.refresh"] = args.refresh
    if args.theme is not None:
        overrides["general.theme"] = args.theme
    if args.read_only:
        overrides["general.read_only"] = True
    if getattr(args, "mqtt", None) is not None:
        overrides["mqtt.url"] = args.mqtt
    return load_config(args.config, env, overrides)


def locate(names: Sequence[str], config: Path | None, env: Mapping[str, str]) -> list[Path]:
    """The paths ``opsconsole locate NAMES`` prints."""
    where: dict[str, Callable[[], Path]] = {
        "config": lambda: config_file(config, env),
        "data": lambda: paths.data_dir(env),
        "themes": lambda: paths.themes_dir(env),
    }
    return [where[name]() for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    env = os.environ
    quick = _quick_args(arguments)
    if quick is not None:
        return _run_ui(quick, env)
    try:
        args = _parse_args(arguments)
    except SystemExit as exit_:  # --help, --version and usage errors: argparse has spoken
        return exit_.code if isinstance(exit_.code, int) else 0
    if args.command == "locate":
        # Bytes, so a path that is not valid in the locale's encoding prints exactly as it is.
        sys.stdout.flush()
        sys.stdout.buffer.write(
            b"".join(os.fsencode(path) + b"\n" for path in locate(args.names, args.config, env))
        )
        sys.stdout.flush()
        return 0
    if args.command in (None, "logs"):
        return _run_ui(args, env)
    config = _config(args, env)
    if config is None:
        return EXIT_USAGE
    if args.command == "capture":
        from opsconsole import capture

        return capture.run(args, config)
    if args.command == "open":
        from opsconsole import open_cli

        return open_cli.run(args, config)
    if args.command == "report":
        from opsconsole import report

        return report.run(args, config.investigation)
    if args.command == "agent":
        from opsconsole import agent

        return agent.run(args, config)
    return _console(config, replay=args.file, speed=args.speed)


def _run_ui(args: argparse.Namespace | SimpleNamespace, env: Mapping[str, str]) -> int:
    """Run the console (no command) or the log view (``logs``)."""
    config = _config(args, env)
    if config is None:
        return EXIT_USAGE
    if args.command == "logs":
        return logs_cli.run(args, theme=config.theme)
    return _console(config)


def _console(config: Config, *, replay: Path | None = None, speed: float = 1.0) -> int:
    """Run the console (``run_console``) with the cyclic garbage collector off until its first
    frame (the console turns it on then): a start allocates mostly what it keeps, and the
    collector walked that growing heap over again about 200 times, some 45M instructions."""
    gc.disable()
    try:
        from opsconsole.app import run_console  # textual loads here, only when the UI runs

        return run_console(config, replay=replay, speed=speed)
    finally:
        gc.enable()


def _config(args: argparse.Namespace | SimpleNamespace, env: Mapping[str, str]) -> Config | None:
    """The Config for ``args``; None once its error is shown."""
    try:
        return config_from_args(args, env)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None
