"""safe_extract against hostile and broken archives, built here with tarfile.

Every hostile test also checks that nothing appeared outside the target directory.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.sources.archive import (
    DEFAULT_LIMITS,
    ArchiveRefused,
    ExtractReport,
    Limits,
    safe_extract,
)


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, b""


def _make(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Sandbox:
    """A tmp directory holding an archive, a target and a decoy 'outside' directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.target = tmp / "target"
        self.outside = tmp / "outside"
        self.outside.mkdir()
        (self.outside / "secret").write_text("keep")

    def extract(self, members: list[tuple[tarfile.TarInfo, bytes]], **kw: object) -> ExtractReport:
        archive = _make(self.tmp / "in.tar.gz", members)
        before = _tree(self.tmp) - _tree_prefixed(self.tmp, "target")
        report = safe_extract(archive, self.target, **kw)  # type: ignore[arg-type]
        after = _tree(self.tmp) - _tree_prefixed(self.tmp, "target")
        assert after == before, f"written outside the target: {after - before}"
        assert (self.outside / "secret").read_text() == "keep"
        return report


def _tree_prefixed(root: Path, top: str) -> set[str]:
    return {s for s in _tree(root) if s == top or s.startswith(top + "/")}


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def _reasons(report: ExtractReport) -> dict[str, str]:
    return {s.name: s.reason for s in report.skipped}


def test_a_sound_archive_extracts_with_inner_links(box: Sandbox) -> None:
    report = box.extract(
        [
            _file("r/sos_commands/host/hostname", b"web01\n"),
            _link("r/hostname", "sos_commands/host/hostname"),
            _link("r/sos_commands/host/same", "../host/hostname"),
            _link("r/copy", "r/sos_commands/host/hostname", tarfile.LNKTYPE),
        ]
    )
    assert report.skipped == [] and report.error is None
    root = box.target / "r"
    assert (root / "hostname").read_text() == "web01\n"
    assert str((root / "hostname").readlink()) == "sos_commands/host/hostname"
    assert (root / "sos_commands/host/same").read_text() == "web01\n"
    assert (root / "copy").read_text() == "web01\n"
    assert report.total_bytes == 6 and len(report.extracted) == 4


def test_dotdot_and_absolute_members_are_skipped(box: Sandbox) -> None:
    report = box.extract(
        [
            _file("../outside/evil", b"x"),
            _file("a/../../outside/evil2", b"x"),
            _file(f"{box.outside}/abs", b"x"),
            _file("ok", b"fine"),
        ]
    )
    reasons = _reasons(report)
    assert "'..'" in reasons["../outside/evil"] and "'..'" in reasons["a/../../outside/evil2"]
    assert reasons[f"{box.outside}/abs"] == "absolute path"
    assert (box.target / "ok").read_text() == "fine"


def test_links_pointing_outside_are_skipped(box: Sandbox) -> None:
    report = box.extract(
        [
            _link("abs", str(box.outside)),
            _link("up", "../outside"),
            _link("d/sneaky", "x/../../../outside"),
            _link("hard", "/etc/passwd", tarfile.LNKTYPE),
            _link("hard2", "../outside/secret", tarfile.LNKTYPE),
            _link("hard3", "never-extracted", tarfile.LNKTYPE),
        ]
    )
    reasons = _reasons(report)
    assert set(reasons) == {"abs", "up", "d/sneaky", "hard", "hard2", "hard3"}
    assert "absolute" in reasons["abs"] and "outside" in reasons["up"]
    assert "hard link to '/etc/passwd'" in reasons["hard"]
    assert not any(os.path.lexists(box.target / n) for n in reasons)


def test_a_file_through_an_earlier_symlink_is_skipped(box: Sandbox) -> None:
    report = box.extract(
        [
            _link("escape", str(box.outside)),  # refused itself
            _file("escape/secret", b"overwritten"),  # lands in a real dir inside the target
            _file("dir/file", b"original"),
            _link("inner", "dir"),  # allowed: stays inside
            _file("inner/file", b"through the link"),
            _link("f", "dir/file"),
            _file("f", b"replaces the link, not its target"),
            _file("dir", b"a file over a directory"),
            _file("after", b"still extracted"),
        ]
    )
    assert _reasons(report)["dir"] == "a directory of that name came before it"
    assert report.error is None and (box.target / "after").read_text() == "still extracted"
    assert "goes through the link 'inner'" in _reasons(report)["inner/file"]
    assert (box.target / "dir/file").read_text() == "original"
    assert (box.target / "escape/secret").read_text() == "overwritten"
    assert not (box.target / "escape").is_symlink()
    assert not (box.target / "f").is_symlink()
    assert (box.target / "f").read_text() == "replaces the link, not its target"


def test_devices_and_fifos_are_skipped(box: Sandbox) -> None:
    chr_dev, _ = _file("null", b"")
    chr_dev.type, chr_dev.devmajor, chr_dev.devminor = tarfile.CHRTYPE, 1, 3
    blk, _ = _file("sda", b"")
    blk.type = tarfile.BLKTYPE
    fifo, _ = _file("pipe", b"")
    fifo.type = tarfile.FIFOTYPE
    report = box.extract([(chr_dev, b""), (blk, b""), (fifo, b""), _file("ok", b"1")])
    reasons = _reasons(report)
    assert reasons == {"null": "device file", "sda": "device file", "pipe": "fifo"}
    assert sorted(p.name for p in box.target.iterdir()) == ["ok"]


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, streamed (the bomb is never held in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _bomb(path: Path, size: int) -> Path:
    info = tarfile.TarInfo("zeros")
    info.size = size
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.addfile(info, io.BufferedReader(_Zeros(size), 1 << 20))
    return path


def test_a_tar_of_zeros_is_refused_by_ratio_with_default_limits(box: Sandbox) -> None:
    archive = _bomb(box.tmp / "bomb.tar.gz", 96 * 1024 * 1024)
    assert archive.stat().st_size < 1024 * 1024  # a small file that expands ~100x and more
    with pytest.raises(ArchiveRefused, match=r"'zeros'.*ratio over 200.*decompression bomb"):
        safe_extract(archive, box.target)
    assert _tree(box.tmp) - _tree_prefixed(box.tmp, "target") == {
        "bomb.tar.gz",
        "outside",
        "outside/secret",
    }
    assert not (box.target / "zeros").exists()  # the partial member is not left behind


def test_total_and_member_size_caps(box: Sandbox) -> None:
    archive = _bomb(box.tmp / "big.tar.gz", 3 * 1024 * 1024)
    with pytest.raises(ArchiveRefused, match=r"more than 2097152 bytes uncompressed in all"):
        safe_extract(archive, box.target, Limits(max_total_bytes=2 * 1024 * 1024))
    with pytest.raises(ArchiveRefused, match=r"declares 3145728 bytes, over the 1048576-byte"):
        safe_extract(archive, box.target, Limits(max_member_bytes=1024 * 1024))


def _many(count: int) -> Iterator[tuple[tarfile.TarInfo, bytes]]:
    for i in range(count):
        yield _file(f"m/{i}", b"")


def test_too_many_members_is_refused(box: Sandbox) -> None:
    archive = _make(box.tmp / "many.tar", list(_many(501)), mode="w")
    with pytest.raises(ArchiveRefused, match=r"refused at member 'm/500': more than 500 members"):
        safe_extract(archive, box.target, Limits(max_members=500))
    assert DEFAULT_LIMITS.max_members == 200_000


def test_a_truncated_archive_keeps_what_came_before(box: Sandbox) -> None:
    members = [_file(f"f{i}", os.urandom(64 * 1024)) for i in range(4)]
    whole = _make(box.tmp / "whole.tar.gz", members)
    cut = box.tmp / "cut.tar.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    report = safe_extract(cut, box.target)
    assert report.error is not None
    assert "archive breaks at member" in report.error and "'f2'" in report.error
    assert report.extracted == ["f0", "f1"]
    assert (box.target / "f1").read_bytes() == members[1][1]
    assert not (box.target / "f2").exists()


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tar.xz", ".tar.bz2"])
def test_every_compression_is_read_by_content(box: Sandbox, suffix: str) -> None:
    mode = {".tar": "w", ".tar.gz": "w:gz", ".tar.xz": "w:xz", ".tar.bz2": "w:bz2"}[suffix]
    archive = _make(box.tmp / f"any{suffix}.renamed", [_file("a", b"A")], mode=mode)
    progress: list[tuple[int, int]] = []
    report = safe_extract(archive, box.target, progress=lambda d, t: progress.append((d, t)))
    assert (box.target / "a").read_text() == "A" and report.extracted == ["a"]
    assert progress and progress[-1][1] == archive.stat().st_size


def test_garbage_is_refused_clearly(box: Sandbox) -> None:
    # zstandard, with and without the package: tests/bundles/test_zstd.py.
    zst = box.tmp / "b.tar.zst"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(100))
    with pytest.raises(ArchiveRefused, match="not a readable tar archive"):
        safe_extract(zst, box.target)
    garbage = box.tmp / "x.tar.gz"
    garbage.write_bytes(b"this is not an archive at all" * 10)
    with pytest.raises(ArchiveRefused, match="not a readable tar archive"):
        safe_extract(garbage, box.target)


def test_a_directory_is_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    report = safe_extract(tmp_path / "r", tmp_path / "unused")
    assert report.root == tmp_path / "r" and not (tmp_path / "unused").exists()


def test_an_archive_cut_where_a_header_starts_is_told(box: Sandbox) -> None:
    # tarfile itself takes data that ends at a header for the end of the archive.
    whole = _make(box.tmp / "whole.tar", [_file("f0", b"a" * 512), _file("f1", b"b")], mode="w")
    cut = box.tmp / "cut.tar"
    cut.write_bytes(whole.read_bytes()[:1024])  # f0's header and data, nothing after
    report = safe_extract(cut, box.target)
    assert report.extracted == ["f0"]
    assert report.error is not None and "cut short after member 1 ('f0')" in report.error
    assert safe_extract(whole, box.tmp / "again").error is None
