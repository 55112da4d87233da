"""The bundle format: written, read back, verified, and refused with a clear message."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from opsconsole import open_cli
from opsconsole.bundle import (
    FORMAT_VERSION,
    BundleError,
    FutureBundleError,
    check_bundle,
    open_bundle,
)
from opsconsole.cli import build_parser
from opsconsole.config import Config
from opsconsole.sources.events import decode, encode
from tests.bundles.helpers import T0, stream, write_bundle
from tests.scripted import wait_for


def _check_exit(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = open_cli.run(build_parser().parse_args(["open", "--check", str(path)]), Config())
    return code, capsys.readouterr().err.splitlines()


def test_round_trip_keeps_every_event_and_describes_them(tmp_path: Path) -> None:
    events = stream()
    bundle = open_bundle(write_bundle(tmp_path / "b"))
    replayed = [decode(line) for line in bundle.events.read_bytes().splitlines()]
    assert replayed == events
    manifest = bundle.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["host"] == "h1"
    assert bundle.time_span == (T0, T0 + 59)
    assert manifest["event_counts"] == {
        "alert": 1,
        "container.change": 1,
        "host.sample": 60,
        "log.lines": 1,
    }
    assert sorted(manifest["files"]) == ["events.jsonl", "logs/app.log", "snapshots/host.json"]
    assert manifest["redaction"]["enabled"] is True
    assert bundle.problems == []
    assert check_bundle(bundle.root) == []


def test_archive_round_trip(tmp_path: Path) -> None:
    archive = write_bundle(tmp_path / "b", fmt="tar.gz")
    assert archive.name == "b.tar.gz" and not (tmp_path / "b").exists()
    bundle = open_bundle(archive, tmp_path / "work")
    assert [decode(x) for x in bundle.events.read_bytes().splitlines()] == stream()
    assert check_bundle(archive) == []


def test_altered_file_is_named_and_the_rest_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_bundle(tmp_path / "b")
    with (root / "logs" / "app.log").open("ab") as fh:
        fh.write(b"forged\n")
    bundle = open_bundle(root)
    assert bundle.problems == ["logs/app.log: sha256 mismatch (altered or damaged)"]
    assert len(bundle.events.read_bytes().splitlines()) == len(stream())
    code, lines = _check_exit(root, capsys)
    assert code == 1
    assert lines == [f"{root}: logs/app.log: sha256 mismatch (altered or damaged)"]


def test_missing_and_unlisted_files_are_named(tmp_path: Path) -> None:
    root = write_bundle(tmp_path / "b")
    (root / "snapshots" / "host.json").unlink()
    (root / "extra.txt").write_text("smuggled")
    assert check_bundle(root) == [
        "snapshots/host.json: missing",
        "extra.txt: not listed in the manifest",
    ]


def test_truncated_archive_names_the_damage_and_the_rest_opens(tmp_path: Path) -> None:
    # A large log last, so the cut lands in it: events.jsonl and the snapshot come before.
    root = tmp_path / "b"
    write_bundle(root)
    log = root / "logs" / "zz-big.log"
    log.write_bytes(os.urandom(600_000))
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("manifest.json", "events.jsonl", "snapshots/host.json", "logs/app.log"):
            tar.add(root / name, arcname=f"b/{name}")
        tar.add(log, arcname="b/logs/zz-big.log")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])
    bundle = open_bundle(archive, tmp_path / "work")
    assert any(p.startswith("b.tar.gz: ") and "still opens" in p for p in bundle.problems)
    assert [decode(x) for x in bundle.events.read_bytes().splitlines()] == stream()
    assert check_bundle(archive)  # damaged: the check says so


def test_future_version_is_refused_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_bundle(tmp_path / "b")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["tool_version"] = "9.0.0"
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FutureBundleError) as raised:
        open_bundle(root)
    assert f"format version {FORMAT_VERSION + 1}" in str(raised.value)
    assert "upgrade opsconsole" in str(raised.value)
    code, lines = _check_exit(root, capsys)
    assert code == 1 and len(lines) == 1 and "upgrade opsconsole" in lines[0]


def test_version_one_still_reads_without_fields_later_versions_add(tmp_path: Path) -> None:
    # A minimal version 1 manifest, as an older writer made it: no investigation, no tool name.
    root = tmp_path / "old"
    root.mkdir()
    (root / "events.jsonl").write_bytes(encode(stream()[0]) + b"\n")
    from opsconsole.bundle import sha256_file

    manifest = {
        "format": "opsconsole-bundle",
        "format_version": 1,
        "host": "old",
        "sources": ["host"],
        "event_counts": {"host.sample": 1},
        "files": {"events.jsonl": {"sha256": sha256_file(root / "events.jsonl")}},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    bundle = open_bundle(root)
    assert bundle.problems == [] and bundle.investigation is None and bundle.host == "old"


def test_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sound = write_bundle(tmp_path / "b", fmt="tar.gz")
    assert _check_exit(sound, capsys) == (0, [])
    assert _check_exit(tmp_path / "nothing", capsys)[0] == 1
    not_bundle = tmp_path / "plain"
    not_bundle.mkdir()
    code, lines = _check_exit(not_bundle, capsys)
    assert code == 1 and lines == [f"{not_bundle}: plain: not a bundle (no manifest.json)"]


def test_bad_event_line_is_reported_by_line_number(tmp_path: Path) -> None:
    root = write_bundle(tmp_path / "b")
    problems = check_bundle(root)
    assert problems == []
    with (root / "events.jsonl").open("ab") as fh:
        fh.write(b'{"kind": "nonsense"}\n')
    problems = check_bundle(root)
    assert "events.jsonl: sha256 mismatch (altered or damaged)" in problems
    assert any(
        p.startswith(f"events.jsonl:{len(stream()) + 1}: not a valid event") for p in problems
    )


def test_hostile_archive_is_refused_and_writes_nothing_outside(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"owned"
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    work = tmp_path / "deep" / "work"
    with pytest.raises(BundleError):
        open_bundle(archive, work)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert check_bundle(archive)


async def test_hostile_members_in_a_sound_bundle_are_named_and_the_rest_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_bundle(tmp_path / "b")
    archive = tmp_path / "b.tar.gz"
    hostile: list[tuple[tarfile.TarInfo, bytes]] = []
    for name, kind, target in (
        ("b/../../escaped", tarfile.REGTYPE, ""),
        ("/tmp/absolute-escaped", tarfile.REGTYPE, ""),
        ("b/logs/out", tarfile.SYMTYPE, "/etc"),
        ("b/logs/up", tarfile.SYMTYPE, "../../../outside"),
        ("b/logs/hard", tarfile.LNKTYPE, "/etc/passwd"),
        ("b/logs/null", tarfile.CHRTYPE, ""),
        ("b/logs/pipe", tarfile.FIFOTYPE, ""),
    ):
        member = tarfile.TarInfo(name)
        member.type, member.linkname = kind, target
        hostile.append((member, b""))
    with tarfile.open(archive, "w:gz") as tar:  # the order pack() uses, the hostile ones inside
        tar.add(directory, arcname="b", recursive=False)
        tar.add(directory / "manifest.json", arcname="b/manifest.json")
        for member, data in hostile:
            tar.addfile(member, io.BytesIO(data))
        for name in ("events.jsonl", "logs", "snapshots"):
            tar.add(directory / name, arcname=f"b/{name}")
    code, lines = _check_exit(archive, capsys)
    assert code == 1
    assert lines == [
        f"{archive}: b.tar.gz: member b/../../escaped: skipped, path with '..'",
        f"{archive}: b.tar.gz: member /tmp/absolute-escaped: skipped, absolute path",
        f"{archive}: b.tar.gz: member b/logs/out: skipped, symlink to '/etc': absolute or empty"
        " target",
        f"{archive}: b.tar.gz: member b/logs/up: skipped, symlink to '../../../outside' points"
        " outside the archive",
        f"{archive}: b.tar.gz: member b/logs/hard: skipped, hard link to '/etc/passwd', not a"
        " file extracted before it",
        f"{archive}: b.tar.gz: member b/logs/null: skipped, device file",
        f"{archive}: b.tar.gz: member b/logs/pipe: skipped, fifo",
    ]
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/absolute-escaped").exists()
    # Opened in the console, each is told, and the bundle replays in full.
    with open_cli.opened(archive, Config(), speed=0) as session:
        assert session.control is not None
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: len(app._notifications) >= len(hostile), timeout=10)
            await wait_for(lambda: session.control is not None and session.control.ended)
            await pilot.pause()
            told = [n.message for n in app._notifications]
            latest = app.hub.latest("host.sample")
    assert told == [line.removeprefix(f"{archive}: ") for line in lines]
    assert latest == stream()[-1]  # the last recorded sample
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("name", ["manifest.json", "events.jsonl"])
def test_a_fifo_in_a_bundle_directory_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    root = write_bundle(tmp_path / "b")
    (root / name).unlink()
    os.mkfifo(root / name)
    with pytest.raises(BundleError, match=f"^{name}: not a regular file$"):
        open_bundle(root)
    assert _check_exit(root, capsys) == (1, [f"{root}: {name}: not a regular file"])
