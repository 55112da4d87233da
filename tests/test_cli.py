"""The ``opsconsole`` command as a user runs it: a real process, its output and exit status.

Each run gets a clean environment: its own HOME, no XDG or OPSCONSOLE variables unless the
test sets them.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import opsconsole
from opsconsole.cli import _quick_args, build_parser, config_from_args, main
from opsconsole.config import Threshold


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def run(
    *args: str, env: dict[str, str], prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*prefix, sys.executable, *args], env=env, capture_output=True, timeout=60, check=False
    )


def opsconsole_run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    return run("-m", "opsconsole", *args, env=clean_env(tmp_path, **extra))


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- version, help ------------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    done = opsconsole_run(tmp_path, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"opsconsole 0.1.0\n", b"")
    assert opsconsole.__version__ == "0.1.0"


def test_help_lists_the_options_commands_and_variables(tmp_path: Path) -> None:
    done = opsconsole_run(tmp_path, "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    assert text.startswith("usage: opsconsole ")
    for word in (
        "--refresh SECONDS",
        "--theme NAME",
        "--read-only",
        "--config PATH",
        "--version",
        "replay",
        "locate",
        "OPSCONSOLE_CONFIG",
        "OPSCONSOLE_THRESHOLDS_CPU_WARNING",
        "XDG_CONFIG_HOME",
    ):
        assert word in text
    replay = opsconsole_run(tmp_path, "replay", "--help").stdout.decode()
    assert replay.startswith("usage: opsconsole replay ") and "--speed X" in replay


def test_main_returns_the_status_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "opsconsole 0.1.0\n"
    assert main(["--refresh", "0"]) == 2
    assert "must be between 0.1 and 3600, got 0" in capsys.readouterr().err


# --- locate ------------------------------------------------------------------------------


def test_locate_with_xdg_variables(tmp_path: Path) -> None:
    done = opsconsole_run(
        tmp_path,
        "locate",
        "config",
        "data",
        "themes",
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_DATA_HOME=str(tmp_path / "share"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        f"{tmp_path}/cfg/opsconsole/config.toml",
        f"{tmp_path}/share/opsconsole",
        f"{tmp_path}/cfg/opsconsole/themes",
    ]
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize("xdg", [None, "", "relative/path"])
def test_locate_without_usable_xdg_variables_uses_home(tmp_path: Path, xdg: str | None) -> None:
    extra = {} if xdg is None else {"XDG_CONFIG_HOME": xdg, "XDG_DATA_HOME": xdg}
    done = opsconsole_run(tmp_path, "locate", "config", "data", "themes", **extra)
    home = tmp_path / "home"
    assert done.stdout.decode().splitlines() == [
        f"{home}/.config/opsconsole/config.toml",
        f"{home}/.local/share/opsconsole",
        f"{home}/.config/opsconsole/themes",
    ]
    assert list(tmp_path.iterdir()) == []


def test_locate_config_follows_the_variable_and_the_option(tmp_path: Path) -> None:
    named = tmp_path / "named.toml"
    done = opsconsole_run(tmp_path, "locate", "config", OPSCONSOLE_CONFIG=str(named))
    assert done.stdout == f"{named}\n".encode()
    done = opsconsole_run(
        tmp_path, "--config", "other.toml", "locate", "config", OPSCONSOLE_CONFIG=str(named)
    )
    assert done.stdout == f"{Path.cwd() / 'other.toml'}\n".encode()


def test_locate_rejects_unknown_names(tmp_path: Path) -> None:
    done = opsconsole_run(tmp_path, "locate", "logs")
    assert done.returncode == 2
    assert b"invalid choice: 'logs'" in done.stderr
    assert done.stdout == b""


@pytest.mark.parametrize(
    "args", [("locate", "config"), ("--version",), ("--help",)], ids=["locate", "version", "help"]
)
def test_quick_commands_do_not_import_textual(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run("-X", "importtime", "-m", "opsconsole", *args, env=clean_env(tmp_path))
    assert done.returncode == 0
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()]
    assert "opsconsole.cli" in imported  # the measurement did see our imports
    assert not [name for name in imported if name.split(".")[0] in {"textual", "rich"}]


# Words of the console's and the log view's command lines, and of what looks like them.
WORDS = ("logs", "a", "-", "--journal", "--lines", "5", "--unit", "-u", "--journal-file",
         "--refresh", "2", "0", "--theme", "--read-only", "--mqtt", "mqtt://h", "--config", "",
         "--", "-h", "--refresh=2", "--ref", "-1")  # fmt: skip


def test_quick_parsing_gives_what_argparse_gives() -> None:
    """Every command line of up to three of WORDS that the quick parser takes, argparse takes
    too, into the same namespace; what it leaves to argparse is checked by the tests above
    and below, through main."""
    parser = build_parser()
    for length in range(4):
        for words in itertools.product(WORDS, repeat=length):
            quick = _quick_args(words)
            if quick is not None:
                with contextlib.redirect_stderr(io.StringIO()):
                    assert vars(parser.parse_args(words)) == vars(quick), words
    for common in [(), ("logs", "a"), ("logs", "-"), ("--refresh", "2"), ("--read-only",)]:
        assert _quick_args(common) is not None


def test_console_and_log_view_start_without_argparse(tmp_path: Path) -> None:
    code = (
        "import sys; from opsconsole import cli; "
        "assert cli._quick_args(['--refresh', '2', 'logs', '--lines', '5', 'a', '-']); "
        "assert cli._quick_args(['--read-only', '--config', 'c.toml']); "
        "assert 'argparse' not in sys.modules"
    )
    done = run("-c", code, env=clean_env(tmp_path))
    assert (done.returncode, done.stderr) == (0, b"")


# --- configuration errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            '[thresholds.cpu]\nwarning = "high"\n',
            '2: thresholds.cpu.warning: expected a number, got "high"',
        ),
        (
            "[general]\nrefesh = 2\n",
            "2: general.refesh: unknown key (did you mean general.refresh?)",
        ),
        ("[genral]\n", "1: genral: unknown section (did you mean general?)"),
        (
            "[general]\n\nrefresh = 0.01\n",
            "3: general.refresh: must be between 0.1 and 3600, got 0.01",
        ),
        (
            "[thresholds.memory]\nwarning = 95\n",
            "2: thresholds.memory: warning (95) is above critical (90)",
        ),
        ("[general]\nrefresh = = 1\n", "2:11: invalid TOML: invalid value"),
        (b"# caf\xe9\n", "1: not UTF-8 text (byte 0xe9)"),
    ],
    ids=[
        "type",
        "unknown-key",
        "unknown-section",
        "range",
        "warning-above-critical",
        "toml",
        "utf8",
    ],
)
def test_bad_config_file_exits_2_with_one_clear_line(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    file = write(tmp_path / "cfg" / "opsconsole" / "config.toml", text)
    done = opsconsole_run(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode() == f"config error: {file}:{reason}\n"


def test_bad_environment_value_exits_2_naming_the_variable(tmp_path: Path) -> None:
    done = opsconsole_run(tmp_path, OPSCONSOLE_REFRESH="soon")
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == (
        b'config error: $OPSCONSOLE_REFRESH: general.refresh: expected a number, got "soon"\n'
    )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("missing", "no such file"), ("directory", "is a directory, not a file")],
)
def test_unusable_named_config_exits_2(tmp_path: Path, kind: str, reason: str) -> None:
    path = tmp_path / "conf"
    if kind == "directory":
        path.mkdir()
    done = opsconsole_run(tmp_path, "--config", str(path))
    assert (done.returncode, done.stderr) == (2, f"config error: {path}: {reason}\n".encode())


def test_unreadable_config_exits_2(tmp_path: Path) -> None:
    file = write(tmp_path / "secret.toml", "[general]\n")
    file.chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # root reads anything: take away the capabilities that let it, for this run only.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop the capability")
        prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search")
    done = run("-m", "opsconsole", "--config", str(file), env=clean_env(tmp_path), prefix=prefix)
    assert (done.returncode, done.stderr) == (
        2,
        f"config error: {file}: permission denied\n".encode(),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--refresh", "0"), b"argument --refresh: must be between 0.1 and 3600, got 0"),
        (("--refresh", "soon"), b'argument --refresh: expected a number, got "soon"'),
        (("--theme", "a b"), b"argument --theme: expected a name of up to 64"),
        (("replay", "nope.jsonl"), b"argument FILE: nope.jsonl: no such file"),
        (("replay", "."), b"argument FILE: .: is a directory, not a file"),
        (("replay", "{file}", "--speed", "-1"), b"argument --speed: must be between 0 and 1000"),
        (("replay", "{file}", "--speed", "x"), b'argument --speed: expected a number, got "x"'),
        (("--bogus",), b"unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_exit_2_with_usage(
    tmp_path: Path, args: tuple[str, ...], message: bytes
) -> None:
    recording = write(tmp_path / "rec.jsonl", "")
    done = opsconsole_run(tmp_path, *(arg.format(file=recording) for arg in args))
    assert done.returncode == 2
    assert done.stderr.startswith(b"usage: opsconsole")
    assert message in done.stderr
    assert b"Traceback" not in done.stderr


# --- a locale that is not UTF-8 -----------------------------------------------------------


@pytest.mark.parametrize(
    "locale",
    [{"LANG": "C"}, {"LC_ALL": "POSIX"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}],
    ids=["LANG=C", "LC_ALL=POSIX", "ascii"],
)
def test_paths_with_non_utf8_bytes_under_a_c_locale(tmp_path: Path, locale: dict[str, str]) -> None:
    base = os.fsencode(tmp_path) + b"/\xe9t\xe9"  # Latin-1 "ete": not valid UTF-8
    inherited = ("LANG", "LC_", "PYTHONUTF8", "PYTHONIOENCODING")
    env = {k: v for k, v in clean_env(tmp_path).items() if not k.startswith(inherited)}
    environb = {os.fsencode(k): os.fsencode(v) for k, v in {**env, **locale}.items()}
    environb[b"XDG_CONFIG_HOME"] = base

    def opsconsole_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "opsconsole", *args],
            env=environb,  # type: ignore[arg-type]  # bytes are allowed on POSIX
            capture_output=True,
            timeout=60,
            check=False,
        )

    located = opsconsole_bytes("locate", "config", "themes")
    assert located.returncode == 0, located.stderr
    assert located.stdout == base + b"/opsconsole/config.toml\n" + base + b"/opsconsole/themes\n"
    assert opsconsole_bytes("--help").returncode == 0

    write(Path(os.fsdecode(base + b"/opsconsole/config.toml")), "[general]\nrefresh = 0\n")
    failed = opsconsole_bytes()
    assert failed.returncode == 2
    # The undecodable bytes are shown escaped, on one line.
    assert failed.stderr == (
        b"config error: " + os.fsencode(tmp_path) + b"/\\xe9t\\xe9/opsconsole/config.toml:2: "
        b"general.refresh: must be between 0.1 and 3600, got 0\n"
    )


# --- precedence: options over environment over file -------------------------------------------


def test_options_override_environment_override_file(tmp_path: Path) -> None:
    file = write(
        tmp_path / "c.toml",
        "[general]\nrefresh = 5\ntheme = 'nord'\nhistory_minutes = 20\n"
        "[thresholds.cpu]\nwarning = 10\n",
    )
    env = {"OPSCONSOLE_REFRESH": "3", "OPSCONSOLE_THEME": "gruvbox", "OPSCONSOLE_READ_ONLY": "0"}
    parser = build_parser()

    config = config_from_args(parser.parse_args(["--config", str(file)]), env)
    assert (config.refresh, config.theme, config.read_only) == (3.0, "gruvbox", False)
    assert (config.history_minutes, config.thresholds["cpu"]) == (20, Threshold(10.0, 90.0))
    assert config.config_path == file

    args = ["--config", str(file), "--refresh", "0.5", "--theme", "dracula", "--read-only"]
    config = config_from_args(parser.parse_args(args), env)
    assert (config.refresh, config.theme, config.read_only) == (0.5, "dracula", True)
    assert config.history_minutes == 20


def test_options_work_before_and_after_replay(tmp_path: Path) -> None:
    recording = str(write(tmp_path / "rec.jsonl", ""))
    env = {"HOME": str(tmp_path)}
    parser = build_parser()

    before = parser.parse_args(["--theme", "nord", "--read-only", "replay", recording])
    assert (before.command, before.file, before.speed) == ("replay", Path(recording), 1.0)
    assert (config_from_args(before, env).theme, config_from_args(before, env).read_only) == (
        "nord",
        True,
    )
    after = parser.parse_args(
        ["--theme", "nord", "replay", recording, "--theme", "x", "--speed", "0"]
    )
    assert (config_from_args(after, env).theme, after.speed) == ("x", 0.0)
    assert config_from_args(after, env).read_only is False
