"""Reads archives without trusting them: bundles and sosreports arrive from anywhere.

``safe_extract`` streams a tar (plain, gzip, xz, or zstandard when that package is installed)
into a target directory and checks every member itself, whatever the Python version's tarfile
filters do: no path leaves the target (``..``, absolute names, links that point outside, a file
written through an earlier symlink), no device or fifo is made, and the sizes are counted as the
bytes come out, never taken from the headers, so a decompression bomb or an archive of millions
of members is refused while it is read. A member that breaks these rules is skipped with its
reason; a limit that is crossed refuses the whole archive (``ArchiveRefused``). A truncated
archive keeps what was extracted before the break and says where it broke.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import tarfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

_CHUNK = 1024 * 1024
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GIB = 1024**3


class ArchiveRefused(Exception):
    """The archive as a whole is refused; the message names the member and why, in one line."""


class ExtractionStopped(Exception):
    """The reader asked the extraction to stop (``safe_extract``'s ``stop``)."""


@dataclass(frozen=True)
class Limits:
    """Caps that make an archive refused while it is read."""

    max_members: int = 200_000
    """Members of any type (files, directories, links, skipped ones)."""
    max_total_bytes: int = 8 * _GIB
    """Bytes written out, counted as they are decompressed."""
    max_ratio: float = 200.0
    """Bytes out per compressed byte read, once ``ratio_floor`` bytes are out."""
    max_member_bytes: int = 4 * _GIB
    """Bytes of one member."""
    ratio_floor: int = 32 * 1024 * 1024
    """The ratio is judged only past this many bytes: small text compresses very well."""


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Skipped:
    """A member not extracted, and why."""

    name: str
    reason: str


@dataclass
class ExtractReport:
    """What ``safe_extract`` did: where the content is, what was written and what was not."""

    root: Path
    """The directory holding the content: the target, or the directory itself for a directory."""
    extracted: list[str] = field(default_factory=list)
    """Member names written (files, directories and links), in archive order."""
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None
    """Where and why the archive broke (truncated or corrupt); what came before is usable."""
    total_bytes: int = 0
    """Bytes of file content written."""


class _Counting:
    """A read-only file wrapper that counts the compressed bytes read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0
        self.out = 0
        """Bytes of tar data handed to tarfile, after decompression (``_Out``)."""

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data


def safe_extract(
    archive: Path,
    target: Path,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
    on_member: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> ExtractReport:
    """Extract ``archive`` into ``target`` (created if missing) with every member checked.

    A directory is not copied: the report's ``root`` is the directory itself, and readers check
    that what they open stays inside it. ``progress(done, total)`` is called with compressed
    bytes read and the archive's size. ``on_member(path)`` is called with the relative path
    (``/``-separated, cleaned) of each member once it is completely written, so a reader can
    use the first members while the rest extracts; an exception it raises stops the
    extraction and comes out of this call. ``stop``, once set, stops it within a chunk
    (ExtractionStopped). Raises ArchiveRefused when a limit is crossed, when the file is not a
    readable archive at all, or for zstandard without the ``zstandard`` package.
    """
    if archive.is_dir():
        return ExtractReport(root=archive)
    target.mkdir(parents=True, exist_ok=True)
    report = ExtractReport(root=target)
    try:
        size = archive.stat().st_size
        fh = archive.open("rb")
    except OSError as exc:
        raise ArchiveRefused(f"{archive}: cannot read: {exc.strerror or exc}") from None
    with fh:
        counting = _Counting(fh)
        with _tar_stream(archive, counting) as tar:
            extractor = _Extractor(tar, target, limits, report, counting, size, progress)
            extractor.on_member, extractor.stop = on_member, stop
            extractor.run()
    return report


def peek_names(
    archive: Path,
    limit: int = 5000,
    max_read: int = 32 * 1024 * 1024,
    enough: Callable[[str], bool] | None = None,
) -> list[str]:
    """Names of the first ``limit`` members, reading at most about ``max_read`` compressed bytes,
    and stopping after a name for which ``enough`` is true (the next header may lie a gigabyte
    further on).

    For telling kinds of archive apart (a bundle, a sosreport) without extracting anything;
    an unreadable or truncated archive gives the names read before the problem.
    """
    names: list[str] = []
    try:
        with archive.open("rb") as fh:
            counting = _Counting(fh)
            with _tar_stream(archive, counting) as tar:
                while len(names) < limit and counting.count <= max_read:
                    member = tar.next()
                    if member is None:
                        break
                    names.append(member.name)
                    if enough is not None and enough(member.name):
                        break
    except (ArchiveRefused, tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError):
        pass
    return names


def _tar_stream(archive: Path, counting: _Counting) -> tarfile.TarFile:
    """A streaming tar reader over ``counting``, decompressed by content, not by suffix.

    Decompression happens here rather than in tarfile's own stream, whose buffer handling in
    Python 3.11 copies the rest of every decompressed chunk on each 512-byte read: quadratic,
    and a CPU bomb on highly compressible input.
    """
    head = counting.raw.read(6)
    counting.raw.seek(0)
    source: object = counting
    # The decompressors are closed with the archive's file, which the caller holds open.
    if head.startswith(b"\x1f\x8b"):
        source = gzip.GzipFile(fileobj=counting, mode="rb")  # type: ignore[call-overload]
    elif head.startswith(b"\xfd7zXZ\x00"):
        source = lzma.LZMAFile(counting)  # type: ignore[arg-type]  # noqa: SIM115
    elif head.startswith(b"BZh"):
        source = bz2.BZ2File(counting)  # type: ignore[call-overload]
    elif head.startswith(_ZSTD_MAGIC):
        try:
            import zstandard  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ArchiveRefused(
                f"{archive.name}: zstandard-compressed, and the zstandard package is not "
                "installed (pip install zstandard, or unpack it with zstd -d first)"
            ) from None
        reader = zstandard.ZstdDecompressor().stream_reader(counting)  # type: ignore[arg-type,unused-ignore]
        source = _ZstdReader(reader, zstandard)
    try:
        return tarfile.open(fileobj=_Out(source, counting), mode="r|")  # type: ignore[call-overload,no-any-return]
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise ArchiveRefused(f"{archive.name}: not a readable tar archive ({exc})") from None


class _Out:
    """Counts the tar data tarfile reads into ``counting.out``: an archive whose data ends
    where a header should be has been cut, which tarfile itself takes for a normal end."""

    def __init__(self, source: Any, counting: _Counting) -> None:
        self.source = source
        self.counting = counting

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.source.read(size)
        self.counting.out += len(data)
        return data


class _ZstdReader:
    """A zstandard stream reader whose errors are OSError, as the other decompressors' are, so
    a damaged .tar.zst is a broken archive like a damaged .tar.gz, not a crash."""

    def __init__(self, reader: BinaryIO, module: Any) -> None:
        self.reader = reader
        self.error: type[Exception] = module.ZstdError

    def read(self, size: int = -1) -> bytes:
        try:
            return self.reader.read(size)
        except self.error as exc:
            raise OSError(f"zstandard: {exc}") from None


class _Extractor:
    """One pass over a streamed tar, writing what passes the checks."""

    def __init__(
        self,
        tar: tarfile.TarFile,
        target: Path,
        limits: Limits,
        report: ExtractReport,
        counting: _Counting,
        size: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.tar = tar
        self.on_member: Callable[[str], None] | None = None
        self.stop: threading.Event | None = None
        self.target = target
        self.limits = limits
        self.report = report
        self.counting = counting
        self.size = size
        self.progress = progress
        self.files: set[str] = set()
        """Regular files written, by normalised name: the only targets hard links may have."""
        self.members = 0

    def run(self) -> None:
        name = "(start of archive)"
        while True:
            try:
                member = self.tar.next()
                if member is None:
                    if self.counting.out < self.tar.offset + tarfile.BLOCKSIZE:
                        self.report.error = (
                            f"archive is cut short after member {self.members} ({name!r}), "
                            f"at {self.counting.count} compressed bytes: no end-of-archive marker"
                        )
                    return
                name = member.name
                self.members += 1
                if self.members > self.limits.max_members:
                    raise ArchiveRefused(
                        f"refused at member {name!r}: more than {self.limits.max_members} members"
                    )
                self._member(member)
            except ArchiveRefused:
                raise
            except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
                self.report.error = (
                    f"archive breaks at member {self.members} ({name!r}), after "
                    f"{self.counting.count} compressed bytes: {exc or type(exc).__name__}"
                )
                return
            if self.progress is not None:
                self.progress(self.counting.count, self.size)

    def _member(self, member: tarfile.TarInfo) -> None:
        parts, reason = _clean_name(member.name)
        if reason is None:
            reason = self._type_reason(member, parts)
        if reason is None and hasattr(tarfile, "data_filter"):
            # A second opinion where this Python has it; our own checks above come first.
            try:
                tarfile.data_filter(member, str(self.target))
            except tarfile.FilterError as exc:
                reason = f"refused by tarfile's data filter: {exc}"
        if reason is None:
            reason = self._parents(parts)
        if reason is None and not member.isdir() and self.target.joinpath(*parts).is_dir():
            reason = "a directory of that name came before it"
        if reason is not None:
            self.report.skipped.append(Skipped(member.name, reason))
            return
        rel = "/".join(parts)
        path = self.target.joinpath(*parts)
        if member.isdir():
            if not path.is_dir() or path.is_symlink():
                _clear(path)
                path.mkdir(mode=0o755)
        elif member.issym():
            _clear(path)
            path.symlink_to(member.linkname)
        elif member.islnk():
            _clear(path)
            source = self.target.joinpath(*_clean_name(member.linkname)[0])
            os.link(source, path, follow_symlinks=False)
        else:
            self._write(member, path)
            self.files.add(rel)
        self.report.extracted.append(member.name)
        if self.stop is not None and self.stop.is_set():
            raise ExtractionStopped(member.name)
        if self.on_member is not None:
            self.on_member(rel)

    def _type_reason(self, member: tarfile.TarInfo, parts: list[str]) -> str | None:
        if member.ischr() or member.isblk():
            return "device file"
        if member.isfifo():
            return "fifo"
        if member.issym():
            return _symlink_reason(member.linkname, len(parts) - 1)
        if member.islnk():
            link_parts, why = _clean_name(member.linkname)
            if why is not None or "/".join(link_parts) not in self.files:
                return f"hard link to {member.linkname!r}, not a file extracted before it"
            return None
        if not (member.isfile() or member.isdir()):
            return f"unsupported member type {member.type!r}"
        if member.size > self.limits.max_member_bytes:
            raise ArchiveRefused(
                f"refused at member {member.name!r}: it declares {member.size} bytes, over the "
                f"{self.limits.max_member_bytes}-byte limit for one member"
            )
        return None

    def _parents(self, parts: list[str]) -> str | None:
        """Create the member's parent directories; refuse a path through a link or a file."""
        here = self.target
        for part in parts[:-1]:
            here = here / part
            if here.is_symlink():
                return f"its path goes through the link {part!r}"
            if not here.exists():
                here.mkdir(mode=0o755)
            elif not here.is_dir():
                return f"its path goes through the file {part!r}"
        return None

    def _write(self, member: tarfile.TarInfo, path: Path) -> None:
        data = self.tar.extractfile(member)
        if data is None:
            return
        _clear(path)
        written = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := data.read(_CHUNK):
                    if self.stop is not None and self.stop.is_set():
                        raise ExtractionStopped(member.name)
                    written += len(chunk)
                    self.report.total_bytes += len(chunk)
                    self._check_sizes(member.name, written)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        with contextlib.suppress(OSError, OverflowError, ValueError):
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)

    def _check_sizes(self, name: str, written: int) -> None:
        limits, total = self.limits, self.report.total_bytes
        if written > limits.max_member_bytes:
            raise ArchiveRefused(
                f"refused at member {name!r}: more than {limits.max_member_bytes} bytes in one "
                "member (a decompression bomb?)"
            )
        if total > limits.max_total_bytes:
            raise ArchiveRefused(
                f"refused at member {name!r}: more than {limits.max_total_bytes} bytes "
                "uncompressed in all (a decompression bomb?)"
            )
        if total > limits.ratio_floor and total > limits.max_ratio * max(1, self.counting.count):
            raise ArchiveRefused(
                f"refused at member {name!r}: {total} bytes out of {self.counting.count} "
                f"compressed, a ratio over {limits.max_ratio:g} (a decompression bomb?)"
            )


def _clean_name(name: str) -> tuple[list[str], str | None]:
    """A member name's parts without ``.``, or why the name is refused."""
    if not name or "\x00" in name:
        return [], "empty or invalid name"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute():
        return [], "absolute path"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return [], "path with '..'"
    if not parts:
        return [], "empty name"
    return parts, None


def _symlink_reason(linkname: str, depth: int) -> str | None:
    """Why a symlink at ``depth`` directories below the target is refused, or None.

    Allowed: a relative target made of leading ``..`` (no more than ``depth``) and then names
    only. Every directory on a member's own path is a real one (``_parents`` sees to that), so
    such a link resolves inside the target, and so does any chain of them.
    """
    if not linkname or linkname.startswith("/"):
        return f"symlink to {linkname!r}: absolute or empty target"
    parts = [p for p in linkname.split("/") if p not in ("", ".")]
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    if ".." in parts[ups:] or ups > depth:
        return f"symlink to {linkname!r} points outside the archive"
    return None


def _clear(path: Path) -> None:
    """Remove what a later member replaces (a file or a link; never follows the link)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
