"""A sosreport archive's first screen comes while the rest is still being extracted, and every
member after it is still checked: a bomb further in stops the source, not the console."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.events import (
    ContainerList,
    Event,
    HostFacts,
    HostSample,
    LogLines,
    ProcessTable,
    SosReportInfo,
)
from opsconsole.sources.sosreport import SosReportSource
from tests.bundles_read.sosbuild import NAME, build_sosreport, pack
from tests.bundles_read.test_archive_safety import _Zeros


def _logs_out(workdir: Path) -> int:
    return sum(1 for _ in workdir.rglob("app*.log"))


def _big_report(tmp_path: Path) -> tuple[Path, Path, SosReportSource]:
    """A report with 20 MB of logs (its tree), and a source on its .tar.gz extracting into
    ``tmp_path/work``."""
    root = build_sosreport(tmp_path / "tree", log_files=41, log_bytes=500_000)
    archive = pack(root, tmp_path / f"{NAME}.tar.gz")
    (tmp_path / "work").mkdir()
    return root, tmp_path / "work", SosReportSource(archive, workdir=tmp_path / "work")


async def test_the_first_screen_comes_before_the_logs_are_extracted(tmp_path: Path) -> None:
    root, work, source = _big_report(tmp_path)
    await source.open()
    events: list[Event] = []
    logs_at_first_screen = -1
    async for event in source.events():
        if not events:
            logs_at_first_screen = _logs_out(work)
        events.append(event)
    await source.close()
    # Host facts, sample and processes first, while most of the 40 app logs were not out yet.
    assert [type(e) for e in events[:3]] == [HostFacts, HostSample, ProcessTable]
    assert logs_at_first_screen < 20
    # Then everything, each once: the same events as the report's directory gives.
    from_tree = SosReportSource(root)
    await from_tree.open()
    expected = [event async for event in from_tree.events()]
    assert events == expected
    assert sum(isinstance(e, ContainerList) for e in events) == 2
    assert sum(isinstance(e, SosReportInfo) for e in events) == 1
    assert list(work.iterdir()) == []  # the extracted copy is gone


def _with_bomb(root: Path, archive: Path) -> Path:
    """The report's archive with 96 MB of zeros after it, in the report's own var/."""
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(root, arcname=root.name)
        info = tarfile.TarInfo(f"{root.name}/var/zzz-zeros")
        info.size = 96 * 1024 * 1024
        tar.addfile(info, io.BufferedReader(_Zeros(info.size), 1 << 20))
    return archive


async def test_a_bomb_after_the_first_screen_is_refused_and_cleaned(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path / "tree")
    archive = _with_bomb(root, tmp_path / f"{NAME}.tar.gz")
    work = tmp_path / "work"
    work.mkdir()
    source = SosReportSource(archive, workdir=work)
    await source.open()
    seen: list[Event] = []
    with pytest.raises(SourceUnavailable, match=r"zzz-zeros.*decompression bomb") as refused:
        async for event in source.events():
            seen.append(event)
    assert refused.value.permanent
    assert isinstance(seen[0], HostFacts) and not any(isinstance(e, LogLines) for e in seen)
    await source.close()
    assert list(work.iterdir()) == []


async def test_closing_while_extracting_stops_it_and_removes_the_copy(tmp_path: Path) -> None:
    _, work, source = _big_report(tmp_path)
    await source.open()
    await source.close()
    assert list(work.iterdir()) == []
