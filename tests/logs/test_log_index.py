"""The newline index on hostile files: real files in a temporary directory."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsconsole.sources.log_index import (
    MAX_LINE_BYTES,
    TAIL,
    ByteSearch,
    FileDocument,
    looks_binary,
    open_checked,
)
from opsconsole.sources.log_sources import expand_paths


def opened(path: Path) -> FileDocument:
    document = FileDocument(str(path))
    assert document.index.wait(10)
    return document


def texts(document: FileDocument) -> list[str]:
    return [document.line(index).text for index in range(document.line_count)]


def test_crlf_and_no_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"one\r\ntwo\r\nthree")
    assert texts(opened(path)) == ["one", "two", "three"]


def test_final_newline_makes_no_empty_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"one\ntwo\n")
    assert texts(opened(path)) == ["one", "two"]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"")
    assert opened(path).line_count == 0


def test_invalid_utf8_and_nul_are_decoded_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"ok\n\xff\xfe bad \x00 nul\n\xc3\n")
    lines = texts(opened(path))
    assert lines[0] == "ok"
    assert lines[1] == "\ufffd\ufffd bad \x00 nul"
    assert lines[2] == "\ufffd"


def test_ten_megabyte_line_is_cut_and_the_next_line_found(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with path.open("wb") as out:
        out.write(b"before\n")
        out.write(b"x" * (10 << 20))
        out.write(b"\nafter\n")
    document = opened(path)
    assert document.line_count == 3
    huge = document.line(1)
    assert len(huge.text) == MAX_LINE_BYTES
    assert huge.cut == (10 << 20) - MAX_LINE_BYTES
    assert document.line(2).text == "after"


def test_big_file_shows_its_end_before_the_count_is_done(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    line = b"Nov 24 11:19:54 host app[1]: request %08d served\n"
    with path.open("wb") as out:
        out.write(b"".join(line % number for number in range(400_000)))
    assert path.stat().st_size > 4 * TAIL
    started = time.perf_counter()
    document = FileDocument(str(path))
    last = document.line(document.line_count - 1)
    assert time.perf_counter() - started < 0.2
    assert last.text.endswith("request 00399999 served")
    document.start(follow_interval=None)
    assert document.index.wait(10)
    assert document.line_count == 400_000
    assert document.line(123_456).text.endswith("request 00123456 served")
    assert document.find(ByteSearch(re.compile("request 00300000 ")), 0) == 300_000
    assert document.find(ByteSearch(re.compile("request 00001000 ")), 5000, backward=True) == 1000


def test_follow_append_truncate_rotate_delete(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"a\nb\n")
    document = opened(path)
    with path.open("ab") as out:
        out.write(b"c\npartial")
    assert document.poll()
    assert texts(document) == ["a", "b", "c", "partial"]
    with path.open("ab") as out:
        out.write(b" line\n")
    document.poll()
    assert texts(document) == ["a", "b", "c", "partial line"]
    # copytruncate: the same file, shorter
    path.write_bytes(b"new\n")
    document.poll()
    assert texts(document) == ["new"]
    assert "truncated" in " ".join(document.take_notices())
    # logrotate: the file moved away and a new one created
    path.rename(tmp_path / "app.log.1")
    path.write_bytes(b"rotated 1\nrotated 2\n")
    document.poll()
    assert texts(document) == ["rotated 1", "rotated 2"]
    assert "rotated" in " ".join(document.take_notices())
    # deleted: what was read stays, and the view says so
    path.unlink()
    document.poll()
    assert texts(document) == ["rotated 1", "rotated 2"]
    assert "deleted" in " ".join(document.take_notices())
    assert "deleted" in document.status()


def test_binary_file_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "core"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ValueError, match="binary"):
        open_checked(str(path))


def test_directory_is_refused_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="directory"):
        open_checked(str(tmp_path))


def test_permission_denied_as_an_unprivileged_user(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_text("secret\n")
    path.chmod(0o600)
    tmp_path.chmod(0o755)
    code = (
        "import os\n"
        # Imported first: the interpreter's own files may not be readable by nobody.
        "from opsconsole.sources.log_index import open_checked\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        f"    open_checked({str(path)!r})\n"
        "except PermissionError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert "permission denied" in result.stdout


def test_directory_of_ten_thousand_files(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(10_000):
        (folder / f"app-{number:05}.log").write_bytes(b"x\n")
    os.utime(folder / "app-00042.log", (time.time() + 100, time.time() + 100))
    started = time.perf_counter()
    files, notes = expand_paths([str(folder)])
    assert time.perf_counter() - started < 2
    assert len(files) == 64
    assert str(folder / "app-00042.log") in files  # the newest is among those opened
    assert notes == [f"{folder}: 10000 files; opened the 64 newest"]
    files, notes = expand_paths([str(folder / "app-0000*.log")])
    assert len(files) == 10
    assert expand_paths([str(tmp_path / "nothing*.log")])[1] == [
        f"{tmp_path}/nothing*.log: no file matches"
    ]


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        ("Request 7", 0),  # a plain word, case-sensitive: bytes.find
        ("request 7", re.IGNORECASE),  # by its uncased run " 7", checked by the regex
        ("served", re.IGNORECASE),  # letters only: in a lowered copy
        ("quest.*7 S", 0),  # a regex
    ],
)
def test_byte_search_finds_what_the_regex_finds(pattern: str, flags: int) -> None:
    data = b"".join(
        b"%s %d %s\n" % (b"Request" if number % 3 else b"REQUEST", number, b"Served")
        for number in range(100)
    )
    regex = re.compile(pattern.encode(), flags)
    expected = sorted({data.rfind(b"\n", 0, m.start()) + 1 for m in regex.finditer(data)})
    found = [
        data.rfind(b"\n", 0, offset) + 1
        for offset in ByteSearch(re.compile(pattern, flags)).finditer(data)
    ]
    assert found == expected
    assert found


def test_case_insensitive_word_is_found_in_any_case_across_a_big_file(tmp_path: Path) -> None:
    # Pieces without the word's rarest letter ("z") are skipped unlowered; every case of the
    # word is still found, in order, through the whole file.
    filler = b"".join(b"line %d all quiet here\n" % n for n in range(400_000))  # ~9 MB
    cases = [b"zebra", b"ZEBRA", b"ZeBrA", b"Zebra"]
    path = tmp_path / "big.log"
    path.write_bytes(filler + b"".join(b"a %s b\n" % case for case in cases) + filler)
    document = FileDocument(str(path))
    document.index.wait(30)
    search = ByteSearch(re.compile("zebra", re.IGNORECASE))
    assert list(document.matching_lines(search)) == [400_000 + i for i in range(4)]
    assert document.find(search, 0) == 400_000
    assert document.find(search, 400_001) == 400_002
    assert document.find(search, document.line_count - 1, backward=True) == 400_003
    assert document.find(ByteSearch(re.compile("zebras", re.IGNORECASE)), 0) is None
    document.close()


def test_looks_binary_counts_the_control_bytes_one_by_one_would() -> None:
    # It counts them in C; this is the rule spelt out byte by byte.
    def by_byte(sample: bytes) -> bool:
        if not sample:
            return False
        if sample.count(b"\0") > len(sample) // 100:
            return True
        return sum(1 for byte in sample if byte < 9 or 13 < byte < 32) > len(sample) // 10

    rng = random.Random(3)
    for _ in range(2000):
        alphabet = rng.choice([bytes(range(256)), bytes(range(1, 40)), b"ab\n\t\r\x0b\x0c\x0e\x1b"])
        sample = bytes(rng.choices(alphabet, k=rng.choice([0, 1, 9, 10, 11, 100, 1000])))
        assert looks_binary(sample) == by_byte(sample), sample


def test_a_search_made_while_the_file_is_still_counted_finds_what_lies_past_the_count(
    tmp_path: Path,
) -> None:
    # A user who types / at once into a big file must not get "no more matches" for a line
    # the background count has not reached: the search goes on behind the count.
    filler = b"".join(b"line %d all quiet here\n" % n for n in range(1_500_000))  # ~36 MB
    path = tmp_path / "big.log"
    path.write_bytes(filler + b"the needle\n" + filler)
    search = ByteSearch(re.compile("needle"))
    for backward in (False, True):
        document = FileDocument(str(path))
        document.index.start()
        start = 0 if not backward else document.line_count - 1  # the last line, in the tail
        assert document.find(search, start, backward=backward) == 1_500_000
        document.close()


def test_a_search_in_a_file_never_counted_ends_at_once(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"one\ntwo\n")
    document = FileDocument(str(path))  # not started: nothing is counted, nothing waited for
    assert document.find(ByteSearch(re.compile("two")), 0) is None


@pytest.mark.parametrize("final_newline", [True, False])
def test_a_search_back_from_past_the_end_takes_the_last_line_too(
    tmp_path: Path, final_newline: bool
) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"needle one\nhay\nneedle two" + (b"\n" if final_newline else b""))
    document = opened(path)
    search = ByteSearch(re.compile("needle"))
    assert document.find(search, document.line_count, backward=True) == 2
    assert document.find(search, 2, backward=True) == 0
