"""Settings: XDG paths, defaults, the TOML file, environment overrides and their errors.

Real files in a temporary directory; the environment is passed as a plain dict.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
from pathlib import Path

import pytest

from opsconsole import paths
from opsconsole.config import (
    DEFAULT_THRESHOLDS,
    Config,
    ConfigError,
    Threshold,
    config_file,
    env_name,
    load_config,
)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str | bytes, tmp_path: Path) -> str:
    """The message load_config gives for a file holding ``text``."""
    return error_of_file(write(tmp_path / "config.toml", text))


def error_of_file(file: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(file, {})
    return str(caught.value)


# --- paths -------------------------------------------------------------------------------


def test_xdg_variables_place_every_directory() -> None:
    env = {
        "HOME": "/home/u",
        "XDG_CONFIG_HOME": "/cfg",
        "XDG_DATA_HOME": "/data",
        "XDG_STATE_HOME": "/state",
        "XDG_CACHE_HOME": "/cache",
    }
    assert paths.config_dir(env) == Path("/cfg/opsconsole")
    assert paths.config_file(env) == Path("/cfg/opsconsole/config.toml")
    assert paths.themes_dir(env) == Path("/cfg/opsconsole/themes")
    assert paths.data_dir(env) == Path("/data/opsconsole")
    assert paths.state_dir(env) == Path("/state/opsconsole")
    assert paths.cache_dir(env) == Path("/cache/opsconsole")


@pytest.mark.parametrize("value", [None, "", "relative/dir", "./cfg"])
def test_unset_empty_or_relative_xdg_values_fall_back_to_home(value: str | None) -> None:
    env = {"HOME": "/home/u"}
    if value is not None:
        env |= {"XDG_CONFIG_HOME": value, "XDG_DATA_HOME": value, "XDG_STATE_HOME": value}
    assert paths.config_file(env) == Path("/home/u/.config/opsconsole/config.toml")
    assert paths.data_dir(env) == Path("/home/u/.local/share/opsconsole")
    assert paths.state_dir(env) == Path("/home/u/.local/state/opsconsole")
    assert paths.cache_dir(env) == Path("/home/u/.cache/opsconsole")


def test_paths_read_the_process_environment_when_given_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere")
    assert paths.data_dir() == Path("/somewhere/opsconsole")


def test_ensure_dir_creates_private_directories_and_nothing_else_does(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "a" / "b")}
    data = paths.data_dir(env)
    load_config(None, env)
    assert list(tmp_path.iterdir()) == []
    assert paths.ensure_dir(data) == data
    for created in (tmp_path / "a", tmp_path / "a" / "b", data):
        assert stat.S_IMODE(created.stat().st_mode) == 0o700
    paths.ensure_dir(data)  # already there: fine


# --- thresholds and defaults ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (None, "ok"),
        (math.nan, "ok"),
        (0.0, "ok"),
        (69.9, "ok"),
        (70.0, "warning"),
        (89.99, "warning"),
        (90.0, "critical"),
        (250.0, "critical"),
    ],
)
def test_threshold_level(value: float | None, level: str) -> None:
    assert Threshold(70, 90).level(value) == level


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    config = load_config(None, {"HOME": str(tmp_path)})
    assert config == Config()
    assert config.config_path is None
    assert (config.refresh, config.theme, config.read_only) == (1.0, "opsconsole-dark", False)
    assert (config.history_minutes, config.process_rows) == (15, 200)
    assert config.thresholds["cpu"] == Threshold(70.0, 90.0)
    assert config.thresholds["load"] == Threshold(1.0, 2.0)
    assert set(config.thresholds) == {
        "cpu",
        "memory",
        "swap",
        "disk",
        "load",
        "cgroup_cpu",
        "cgroup_memory",
    }


def test_config_cannot_be_changed_in_place() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.refresh = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.thresholds["cpu"] = Threshold(1, 2)  # type: ignore[index]


# --- the file ----------------------------------------------------------------------------

FULL = """\
# every setting
[general]
refresh = 2.5
theme = "nord"
read_only = true
history_minutes = 60

[processes]
rows = 50

[thresholds.cpu]
warning = 60
critical = 80.5

[thresholds]
load = { warning = 2, critical = 4 }
"""


def test_default_file_is_read(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    file = write(tmp_path / "opsconsole" / "config.toml", FULL)
    config = load_config(None, env)
    assert config.config_path == file
    assert (config.refresh, config.theme, config.read_only) == (2.5, "nord", True)
    assert (config.history_minutes, config.process_rows) == (60, 50)
    assert config.thresholds["cpu"] == Threshold(60.0, 80.5)
    assert config.thresholds["load"] == Threshold(2.0, 4.0)
    assert config.thresholds["memory"] == DEFAULT_THRESHOLDS["memory"]  # untouched


def test_opsconsole_config_names_the_file_and_the_argument_wins(tmp_path: Path) -> None:
    named = write(tmp_path / "named.toml", "[general]\nrefresh = 3\n")
    given = write(tmp_path / "given.toml", "[general]\nrefresh = 4\n")
    write(tmp_path / "opsconsole" / "config.toml", "[general]\nrefresh = 5\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path), "OPSCONSOLE_CONFIG": str(named)}
    assert load_config(None, env).refresh == 3
    assert load_config(given, env).refresh == 4
    assert config_file(None, env) == named
    assert load_config(None, {**env, "OPSCONSOLE_CONFIG": ""}).refresh == 5


def test_a_named_file_must_exist_the_default_one_need_not(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, {})
    assert str(caught.value) == f"config error: {missing}: no such file"
    with pytest.raises(ConfigError):
        load_config(None, {"OPSCONSOLE_CONFIG": str(missing)})
    assert load_config(None, {"XDG_CONFIG_HOME": str(tmp_path)}).config_path is None


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", b"\xef\xbb\xbf[general]\nrefresh = 2\n")
    assert load_config(file, {}).refresh == 2.0


# --- file errors: one line, file:line: key: reason ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[general]\nrefresh = 1\n\n[thresholds.cpu]\n# comment\n\nwarning = "high"\n',
            '{f}:7: thresholds.cpu.warning: expected a number, got "high"',
        ),
        (
            "[general]\nrefesh = 1\n",
            "{f}:2: general.refesh: unknown key (did you mean general.refresh?)",
        ),
        ("[genral]\nrefresh = 1\n", "{f}:1: genral: unknown section (did you mean general?)"),
        (
            "[general]\nrows = 5\n",
            "{f}:2: general.rows: unknown key (did you mean processes.rows?)",
        ),
        (
            "[bogus]\n",
            "{f}:1: bogus: unknown section (expected one of: containers, general, "
            "investigation, mqtt, processes, thresholds)",
        ),
        (
            "[thresholds.iowait]\nwarning = 1\n",
            "{f}:1: thresholds.iowait: unknown section (expected one of: thresholds.cgroup_cpu, "
            "thresholds.cgroup_memory, thresholds.cpu, thresholds.disk, thresholds.load, "
            "thresholds.memory, thresholds.swap)",
        ),
        ("[general]\nrefresh = 0\n", "{f}:2: general.refresh: must be between 0.1 and 3600, got 0"),
        (
            '[containers]\nengines = ["podman=ftp://x"]\n',
            "{f}:2: containers.engines: engine 'podman=ftp://x': the URL must be unix://, "
            "tcp:// or http://",
        ),
        (
            '[mqtt]\nurl = "http://broker"\n',
            "{f}:2: mqtt.url: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT] in quotes, "
            'got "http://broker"',
        ),
        (
            "[investigation]\nstore = 3\n",
            "{f}:2: investigation.store: expected a path in quotes, got 3",
        ),
        (
            "[general]\nrefresh = nan\n",
            "{f}:2: general.refresh: must be between 0.1 and 3600, got nan",
        ),
        (
            "[general]\nhistory_minutes = 5\n",
            "{f}:2: general.history_minutes: must be between 10 and 1440, got 5",
        ),
        (
            "[general]\nhistory_minutes = 15.5\n",
            "{f}:2: general.history_minutes: expected an integer, got 15.5",
        ),
        ("[general]\nread_only = 1\n", "{f}:2: general.read_only: expected true or false, got 1"),
        ("[general]\nrefresh = true\n", "{f}:2: general.refresh: expected a number, got true"),
        ("[general]\nrefresh = [1]\n", "{f}:2: general.refresh: expected a number, got an array"),
        (
            "[processes]\nrows = 1979-05-27\n",
            "{f}:2: processes.rows: expected an integer, got a date or time",
        ),
        ("general = 5\n", "{f}:1: general: expected a table, got 5"),
        (
            "[thresholds.cpu]\nwarning = 95\ncritical = 90\n",
            "{f}:2: thresholds.cpu: warning (95) is above critical (90)",
        ),
        (
            "[thresholds.disk]\nwarning = 95\n",
            "{f}:2: thresholds.disk: warning (95) is above critical (90)",
        ),
        (
            "[thresholds.cpu]\nwarning = 101\n",
            "{f}:2: thresholds.cpu.warning: must be between 0 and 100, got 101",
        ),
        ("[general]\nrefresh = \n", "{f}:2:11: invalid TOML: invalid value"),
        ("[general\n", "{f}:1:9: invalid TOML: expected ']' at the end of a table declaration"),
        (
            "[general]\nrefresh = 1\nrefresh = 2\n",
            "{f}:3:12: invalid TOML: cannot overwrite a value",
        ),
        ('a = """\n', "{f}: invalid TOML: unterminated string at the end"),
        (
            '[general]\ntheme = "dark\\u001b[31m"\n',
            "{f}:2: general.theme: expected a name of up to 64 letters, digits, '.', '_' or '-', "
            'got "dark\\x1b[31m"',
        ),
    ],
)
def test_file_errors_name_file_line_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    assert error_of(text, tmp_path) == "config error: " + message.format(f=tmp_path / "config.toml")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # dotted keys, at the top and inside a table
        ("# c\n\ngeneral.refresh = 0\n", 3),
        ("[thresholds]\n\ncpu.warning = 101\n", 3),
        # an inline table: the line of the table
        ("[general]\n\n\n[thresholds]\n\ncpu = { warning = 101 }\n", 6),
        # quoted keys and a header with spaces
        ('[ "thresholds" . cpu ]\n\n"warning" = 101\n', 3),
    ],
)
def test_line_numbers_follow_toml_key_forms(tmp_path: Path, text: str, line: int) -> None:
    assert f"config.toml:{line}: " in error_of(text, tmp_path)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    message = error_of(b'[general]\n\ntheme = "caf\xe9"\n', tmp_path)
    assert message == f"config error: {tmp_path / 'config.toml'}:3: not UTF-8 text (byte 0xe9)"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r": is a directory, not a file$"):
        load_config(tmp_path, {})
    huge = write(tmp_path / "huge.toml", "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match=r"huge\.toml: larger than 1 MiB$"):
        load_config(huge, {})


def test_control_characters_in_a_path_are_escaped(tmp_path: Path) -> None:
    file = write(tmp_path / "evil\x1b]0;x\x07.toml", "[general]\nrefresh = 0\n")
    message = error_of_file(file)
    assert "\x1b" not in message and "\x07" not in message
    assert "evil\\x1b]0;x\\x07.toml:2: general.refresh" in message


# --- environment -------------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", FULL)
    env = {
        "OPSCONSOLE_REFRESH": "0.5",
        "OPSCONSOLE_THEME": "gruvbox",
        "OPSCONSOLE_READ_ONLY": "no",
        "OPSCONSOLE_GENERAL_HISTORY_MINUTES": "30",
        "OPSCONSOLE_PROCESSES_ROWS": "25",
        "OPSCONSOLE_THRESHOLDS_CPU_WARNING": "75",
        "OPSCONSOLE_THRESHOLDS_CGROUP_MEMORY_CRITICAL": "99",
        "OPSCONSOLE_SOMETHING_ELSE": "not ours to judge",
    }
    config = load_config(file, env)
    assert (config.refresh, config.theme, config.read_only) == (0.5, "gruvbox", False)
    assert (config.history_minutes, config.process_rows) == (30, 25)
    assert config.thresholds["cpu"] == Threshold(75.0, 80.5)
    assert config.thresholds["cgroup_memory"] == Threshold(80.0, 99.0)
    assert config.config_path == file


@pytest.mark.parametrize(
    ("word", "value"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("False", False)],
)
def test_read_only_words(word: str, value: bool) -> None:
    assert (
        load_config(None, {"HOME": "/nonexistent", "OPSCONSOLE_READ_ONLY": word}).read_only is value
    )


def test_empty_variables_count_as_unset(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", FULL)
    config = load_config(file, {"OPSCONSOLE_REFRESH": "", "OPSCONSOLE_READ_ONLY": ""})
    assert (config.refresh, config.read_only) == (2.5, True)


def test_command_line_overrides_win_over_environment_and_file(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", FULL)
    env = {"OPSCONSOLE_REFRESH": "oops", "OPSCONSOLE_THEME": "gruvbox"}
    # The bad variable is overridden, so it is not even looked at.
    config = load_config(file, env, {"general.refresh": 9})
    assert (config.refresh, config.theme) == (9.0, "gruvbox")


def test_every_setting_has_its_own_variable() -> None:
    assert env_name("general.refresh") == "OPSCONSOLE_REFRESH"
    assert env_name("general.history_minutes") == "OPSCONSOLE_GENERAL_HISTORY_MINUTES"
    assert env_name("thresholds.cgroup_cpu.warning") == "OPSCONSOLE_THRESHOLDS_CGROUP_CPU_WARNING"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"OPSCONSOLE_REFRESH": "fast"},
            '$OPSCONSOLE_REFRESH: general.refresh: expected a number, got "fast"',
        ),
        (
            {"OPSCONSOLE_THRESHOLDS_CPU_WARNING": "high"},
            "$OPSCONSOLE_THRESHOLDS_CPU_WARNING: thresholds.cpu.warning: "
            'expected a number, got "high"',
        ),
        (
            {"OPSCONSOLE_PROCESSES_ROWS": "0"},
            "$OPSCONSOLE_PROCESSES_ROWS: processes.rows: must be between 1 and 5000, got 0",
        ),
        (
            {"OPSCONSOLE_READ_ONLY": "maybe"},
            "$OPSCONSOLE_READ_ONLY: general.read_only: expected one of 1, true, yes, on, 0, false, "
            'no, off, got "maybe"',
        ),
        (
            {"OPSCONSOLE_THRESHOLDS_CPU_WARNNG": "80"},
            "$OPSCONSOLE_THRESHOLDS_CPU_WARNNG: unknown variable "
            "(did you mean $OPSCONSOLE_THRESHOLDS_CPU_WARNING?)",
        ),
        (
            {"OPSCONSOLE_GENERAL_REFRESH": "2"},
            "$OPSCONSOLE_GENERAL_REFRESH: unknown variable (did you mean $OPSCONSOLE_REFRESH?)",
        ),
        (
            {"OPSCONSOLE_THRESHOLDS_SWAP_WARNING": "85"},
            "$OPSCONSOLE_THRESHOLDS_SWAP_WARNING: thresholds.swap: "
            "warning (85) is above critical (80)",
        ),
    ],
)
def test_environment_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"HOME": "/nonexistent", **env})
    assert str(caught.value) == "config error: " + message


def test_warning_above_critical_blames_the_later_source(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", "[general]\n[thresholds.cpu]\n\ncritical = 50\n")
    with pytest.raises(ConfigError) as caught:
        load_config(file, {})
    assert str(caught.value) == (
        f"config error: {file}:4: thresholds.cpu: warning (70) is above critical (50)"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(file, {"OPSCONSOLE_THRESHOLDS_CPU_WARNING": "60"})
    assert str(caught.value).startswith("config error: $OPSCONSOLE_THRESHOLDS_CPU_WARNING: ")
    assert load_config(file, {"OPSCONSOLE_THRESHOLDS_CPU_WARNING": "40"}).thresholds["cpu"] == (
        Threshold(40.0, 50.0)
    )


def test_loading_never_writes(tmp_path: Path) -> None:
    file = write(tmp_path / "opsconsole" / "config.toml", FULL)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    load_config(None, {"XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")})
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert os.access(file, os.R_OK)


def test_sections_of_the_engines_the_broker_and_the_investigation(tmp_path: Path) -> None:
    file = write(
        tmp_path / "config.toml",
        '[containers]\nengines = ["podman=/run/p.sock"]\ndiscover = false\n'
        '[investigation]\nstore = "~/inc.db"\n'
        '[mqtt]\nurl = "mqtt://broker:1884"\nusername = "ops"\n',
    )
    env = {"OPSCONSOLE_MQTT_PASSWORD": "s3cret", "OPSCONSOLE_CONTAINERS_STATS": "no"}
    config = load_config(file, env=env)
    assert config.containers.engines == ("podman=/run/p.sock",)
    assert not config.containers.discover and not config.containers.stats
    assert config.investigation.store == Path("~/inc.db").expanduser()
    settings = config.mqtt.settings()
    assert (settings.host, settings.port, settings.username) == ("broker", 1884, "ops")
    assert settings.password == "s3cret" and "s3cret" not in repr(config)
    assert config.mqtt.settings("mqtts://other").tls  # --mqtt wins over the file
    with pytest.raises(ConfigError, match=r"\$OPSCONSOLE_MQTT_URL: mqtt.url"):
        load_config(file, env={"OPSCONSOLE_MQTT_URL": "tcp://x"})
