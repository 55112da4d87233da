"""``.tar.zst`` end to end with the real zstandard package (the ``opsconsole[zstd]`` extra):
capture, open, check; hostile archives through zstd; and the clear message without it."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import zstandard

from opsconsole import open_cli
from opsconsole.bundle import open_bundle
from opsconsole.capture import HostLogLimits, capture
from opsconsole.config import Config, InvestigationConfig
from opsconsole.sources.archive import ArchiveRefused, safe_extract
from opsconsole.sources.bundle_source import BundleSource
from opsconsole.sources.events import HostSample
from opsconsole.sources.host import HostSource
from tests.bundles_read.test_archive_safety import _Zeros

REPO = Path(__file__).resolve().parents[2]


def _zst_tar(path: Path, members: list[tuple[tarfile.TarInfo, io.BufferedIOBase | None]]) -> Path:
    with (
        path.open("wb") as raw,
        zstandard.ZstdCompressor(level=1).stream_writer(raw) as zst,
        tarfile.open(fileobj=zst, mode="w|") as tar,
    ):
        for info, data in members:
            tar.addfile(info, data)
    return path


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BufferedIOBase]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


async def test_capture_to_tar_zst_opens_and_checks(tmp_path: Path) -> None:
    path = await capture(
        Config(investigation=InvestigationConfig(store=tmp_path / "none.db")),
        duration=1.5,
        output=tmp_path / "cap.tar.zst",
        fmt="tar.zst",
        sources=([HostSource(interval=0.5)], []),
        host="zhost",
        log_limits=HostLogLimits(journal=False),
    )
    assert path == tmp_path / "cap.tar.zst"
    assert path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # really zstandard
    assert open_cli.check(path) == []
    with open_cli.opened(path, Config()) as session:
        source = session.sources[0]
        assert isinstance(source, BundleSource) and session.host == "zhost"
        await source.open()
        async for event in source.events():
            if isinstance(event, HostSample):
                assert event.mem_total  # a real sample of this host, replayed
                break
        await source.close()
    # A damaged .tar.zst is named with what broke; the check fails.
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    problems = open_cli.check(cut)
    assert problems and any("cut.tar.zst" in problem for problem in problems)


def test_a_zstd_bomb_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    info = tarfile.TarInfo("zeros")
    info.size = 96 * 1024 * 1024
    bomb = _zst_tar(tmp_path / "bomb.tar.zst", [(info, io.BufferedReader(_Zeros(info.size)))])
    assert bomb.stat().st_size < 64 * 1024
    target = tmp_path / "target"
    with pytest.raises(ArchiveRefused, match=r"'zeros'.*ratio over 200.*decompression bomb"):
        safe_extract(bomb, target)
    assert not (target / "zeros").exists()


def test_dotdot_through_zstd_is_skipped_and_nothing_is_written_outside(tmp_path: Path) -> None:
    archive = _zst_tar(
        tmp_path / "evil.tar.zst",
        [_member("../escaped", b"x"), _member("b/../../escaped2", b"x"), _member("ok", b"fine")],
    )
    report = safe_extract(archive, tmp_path / "target")
    assert {s.name for s in report.skipped} == {"../escaped", "b/../../escaped2"}
    assert (tmp_path / "target" / "ok").read_text() == "fine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.zst", "target"]
    with pytest.raises(Exception, match="not a bundle"):
        open_bundle(archive, tmp_path / "work")


def test_without_zstandard_both_ways_say_what_to_install(tmp_path: Path) -> None:
    archive = _zst_tar(tmp_path / "b.tar.zst", [_member("a", b"A")])
    # A fresh interpreter where importing zstandard fails, as where it is not installed.
    script = (
        "import sys; sys.modules['zstandard'] = None\n"
        "from pathlib import Path\n"
        "from opsconsole.sources.archive import ArchiveRefused, safe_extract\n"
        "from opsconsole.bundle import BundleError, BundleWriter\n"
        "try:\n"
        "    safe_extract(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "except ArchiveRefused as error:\n"
        "    print(error)\n"
        "try:\n"
        "    BundleWriter(Path(sys.argv[3])).finish(host='h', fmt='tar.zst')\n"
        "except BundleError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, archive, tmp_path / "t", tmp_path / "w"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    extract_message, pack_message = done.stdout.splitlines()
    assert extract_message == (
        "b.tar.zst: zstandard-compressed, and the zstandard package is not installed"
        " (pip install zstandard, or unpack it with zstd -d first)"
    )
    assert pack_message == "tar.zst needs the zstandard package (pip install zstandard); use tar.gz"
