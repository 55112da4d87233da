"""``opsconsole open`` and ``--check`` on a sosreport built in the real layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole import open_cli
from opsconsole.cli import build_parser
from opsconsole.config import Config
from opsconsole.sources.events import ContainerList
from tests.bundles_read.sosbuild import Damage, build_sosreport, pack
from tests.scripted import wait_for


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = open_cli.run(build_parser().parse_args(["open", "--check", str(path)]), Config())
    return code, capsys.readouterr().err.splitlines()


def test_check_a_sound_and_a_damaged_sosreport(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sound = build_sosreport(tmp_path / "a", damage=Damage(missing_file=False, dangling_link=False))
    assert _check(sound, capsys) == (0, [])
    assert _check(pack(sound, tmp_path / f"{sound.name}.tar.xz"), capsys) == (0, [])
    damaged = build_sosreport(tmp_path / "b")
    code, lines = _check(damaged, capsys)
    assert code == 1 and lines and all(line.startswith(f"{damaged}: ") for line in lines)


async def test_open_a_sosreport_archive_in_the_console(tmp_path: Path) -> None:
    archive = pack(build_sosreport(tmp_path), tmp_path / "sosreport-web1.tar.xz")
    with open_cli.opened(archive, Config()) as session:
        assert session.control is None  # one time: no clock
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 40)):
            await wait_for(lambda: app.hub.latest("container.list") is not None, timeout=10)
            assert not app.hub.live
            listed = app.hub.latest("container.list")
            assert isinstance(listed, ContainerList) and listed.containers
            # What sos recorded and what the report lacks are told, not only to --check.
            await wait_for(lambda: len(app._notifications) >= 5, timeout=10)
            told = [(n.title, n.message) for n in app._notifications]
    assert told[:2] == [
        ("sosreport", "sos recorded 2 timed out: lsof M -n -l -c '', ip -s link"),
        ("sosreport", "sos recorded 1 truncated: journalctl --no-pager --boot"),
    ]
    assert sorted(told[2:]) == [
        ("sosreport", "etc/hosts: listed by plugin networking, no such file"),
        ("sosreport", "lsof: dangling symlink to 'sos_commands/process/lsof_M_-n_-l_-c'"),
        (
            "sosreport",
            "sos_commands/networking/ip_-s_link: the manifest lists it for 'ip -s link',"
            " no such file",
        ),
    ]
