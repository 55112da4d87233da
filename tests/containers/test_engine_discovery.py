"""Finding engines without configuration, and the command lines actions are recorded with."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole.sources.engine import (
    ContainersConfig,
    EngineSpec,
    cli_command,
    discover,
    parse_engine,
    parse_time,
)


def listening(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


def test_environment_and_config_engines_come_first(tmp_path: Path):
    env = {"DOCKER_HOST": "tcp://10.0.0.5:2375", "CONTAINER_HOST": f"unix://{tmp_path}/p.sock"}
    config = ContainersConfig(engines=("podman=/srv/podman.sock",))
    found = discover(config, env)
    assert found[:3] == [
        EngineSpec("docker", "tcp://10.0.0.5:2375"),
        EngineSpec("podman", f"unix://{tmp_path}/p.sock"),
        EngineSpec("podman", "unix:///srv/podman.sock"),
    ]
    assert found[0].source_id == "docker:tcp://10.0.0.5:2375"
    assert found[1].source_id == f"podman:{tmp_path}/p.sock"


def test_rootless_socket_found_and_one_socket_is_one_engine(tmp_path: Path):
    (tmp_path / "podman").mkdir()
    rootless = tmp_path / "podman" / "podman.sock"
    with listening(rootless):
        link = tmp_path / "docker.sock"
        link.symlink_to(rootless)  # what podman-docker does with /var/run/docker.sock
        env = {"XDG_RUNTIME_DIR": str(tmp_path), "DOCKER_HOST": f"unix://{link}"}
        found = discover(ContainersConfig(), env)
    assert [spec.runtime for spec in found].count("docker") == 1
    assert all(spec.url != f"unix://{rootless}" for spec in found)


def test_nothing_found_still_says_what_is_missing(tmp_path: Path):
    found = discover(ContainersConfig(), {"XDG_RUNTIME_DIR": str(tmp_path)})
    if not any(Path(s.url.removeprefix("unix://")).exists() for s in found):
        assert [s.runtime for s in found] == ["podman", "docker"]


def test_discovery_can_be_turned_off():
    config = ContainersConfig(discover=False, engines=("docker=tcp://h:2375",))
    assert discover(config, {"DOCKER_HOST": "tcp://x:1"}) == [EngineSpec("docker", "tcp://h:2375")]


@pytest.mark.parametrize("text", ["podman", "lxc=unix:///x", "docker=ftp://x", "podman="])
def test_bad_engine_entries_say_why(text: str):
    with pytest.raises(ValueError, match="engine"):
        parse_engine(text)


def test_command_lines():
    assert cli_command("podman", "restart", "web1") == "podman restart web1"
    assert cli_command("podman", "stop", "web1", "unix:///run/podman/podman.sock") == (
        "podman stop web1"
    )
    assert cli_command("docker", "kill", "db", "tcp://h:2375") == "docker -H tcp://h:2375 kill db"
    assert cli_command("podman", "stop", "a b;rm -rf /") == "podman stop 'a b;rm -rf /'"


def test_engine_times():
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time(-62135596800) is None
    assert parse_time("2026-11-24T11:23:26.910417368Z") == pytest.approx(1795519406.910417)
    assert parse_time("garbage") is None


def test_a_missing_socket_is_told_without_loading_the_sdk(tmp_path: Path) -> None:
    # A host without podman retries this every few seconds: it must cost a stat, not the SDK.
    script = (
        "import sys\n"
        "from opsconsole.config import ContainersConfig\n"
        "from opsconsole.sources.containers import make_engine\n"
        "from opsconsole.sources.engine import EngineError, EngineSpec\n"
        f"spec = EngineSpec('podman', 'unix://{tmp_path}/none.sock')\n"
        "engine = make_engine(spec, ContainersConfig())\n"
        "try:\n"
        "    engine.connect()\n"
        "except EngineError as error:\n"
        "    print(error)\n"
        "print('podman' in sys.modules, 'requests' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [f"no socket at {tmp_path}/none.sock", "False False"]
