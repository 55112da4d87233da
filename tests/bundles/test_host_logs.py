"""The host's log files in a capture: bounded, redacted, and shown in the Logs view when the
bundle is opened; a file the capturing user may not read is a problem in the manifest."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsconsole import open_cli
from opsconsole.bundle import BundleWriter, open_bundle
from opsconsole.capture import HostLogLimits, capture
from opsconsole.config import Config, InvestigationConfig
from opsconsole.redact import MASK
from opsconsole.sources.bundle_source import BundleLogsSource
from opsconsole.sources.events import LogLines
from opsconsole.sources.host import HostSource
from opsconsole.widgets.log_view import LogsTab
from tests.scripted import wait_for

SECRET = "hunter2-9f3a7c"
REPO = Path(__file__).resolve().parents[2]


def _write_log(path: Path, filler: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for n in range(filler):
            fh.write(f"filler {n}\n".encode())
        fh.write(b"\x1b[31mRED\x1b[0m \x1b]0;pwned\x07 escape\n")
        fh.write(b"bad utf8 \xff\xfe here\n")
        fh.write(f"db connect postgres://app:{SECRET}@db/prod password={SECRET}\n".encode())
        fh.write(b"the last line\n")


async def test_capture_takes_host_logs_and_open_shows_them(tmp_path: Path) -> None:
    log = tmp_path / "app" / "app.log"
    _write_log(log, filler=200)
    (tmp_path / "app" / "other.log").write_text("from the glob\n")
    path = await capture(
        Config(investigation=InvestigationConfig(store=tmp_path / "none.db")),
        duration=1,
        output=tmp_path / "cap.tar.gz",
        sources=([HostSource(interval=0.5)], []),
        host="testhost",
        logs=[str(tmp_path / "app" / "*.log"), str(tmp_path / "missing-*.log")],
        log_limits=HostLogLimits(lines=50, journal=False),
    )
    bundle = open_bundle(path, tmp_path / "work")
    assert bundle.problems == []
    manifest = bundle.manifest
    entries = {entry["path"]: entry for entry in manifest["logs"] if entry["kind"] == "host"}
    entry = entries[str(log)]
    # The newest 50 lines, and the manifest says how much came before them.
    kept = (bundle.root / entry["file"]).read_bytes()
    assert kept.count(b"\n") == 50 and kept.endswith(b"the last line\n")
    assert entry["cut_bytes"] + entry["kept_bytes"] == entry["size"] == log.stat().st_size
    assert entry["cut_bytes"] > 0
    assert str(tmp_path / "app" / "other.log") in entries
    # Redacted like every other file; the manifest counts what was masked.
    assert SECRET.encode() not in kept and f"password={MASK}".encode() in kept
    assert entry["file"] in manifest["redaction"]["masked"]
    assert any("missing-*.log: no file matches" in p for p in manifest["problems"])

    with open_cli.opened(path, Config()) as session:
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 70)) as pilot:  # tall: all 50 lines show
            await wait_for(lambda: bool(app.query(LogsTab)), timeout=10)
            await pilot.press("5")  # the Logs view
            pane = app.query_one(LogsTab).pane
            stream = f"file:{log}"
            await wait_for(lambda: any(d.name == stream for d in pane.documents), timeout=10)
            pane.show_stream(stream)
            # The newest 50 lines, after a line saying the log's start is not there.
            await wait_for(lambda: pane.view.base.line_count == 51, timeout=10)
            await pilot.pause(0.2)
            first = pane.view.base.line(0).text  # what scrolling to the top shows
            height = pane.view.scrollable_content_region.height
            screen = [pane.view.render_line(y).text for y in range(height)]
            text = "\n".join(screen)
    assert "the last line" in text and f"password={MASK}" in text
    assert first == f"[{entry['cut_bytes']:,} earlier bytes of this log are not here]"
    assert "bad utf8 \ufffd\ufffd here" in text
    # The escape sequences are shown as text, never sent to the terminal.
    assert "\x1b" not in text and "\x07" not in text and "RED" in text


def test_a_log_the_user_may_not_read_is_a_problem_not_a_failure() -> None:
    # As root every file is readable: the capture runs as nobody, in a real process.
    work = Path(tempfile.mkdtemp(prefix="opsconsole-perm-"))
    try:
        work.chmod(0o777)
        secret = work / "secret.log"
        secret.write_text("root only\n")
        secret.chmod(0o600)
        public = work / "public.log"
        public.write_text("anyone reads this\n")
        public.chmod(0o644)
        script = (
            "import sys; from pathlib import Path\n"
            "from opsconsole.bundle import BundleWriter\n"
            "from opsconsole.capture import HostLogLimits, add_host_logs\n"
            "writer = BundleWriter(Path(sys.argv[1]))\n"
            "add_host_logs(writer, sys.argv[2:], HostLogLimits(journal=False))\n"
            "writer.finish(host='h')\n"
        )
        done = subprocess.run(
            [
                *("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                *(sys.executable, "-c", script, work / "bundle", secret, public),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=REPO,
            env={**os.environ, "HOME": str(work)},
        )
        assert done.returncode == 0, done.stderr
        manifest = json.loads((work / "bundle" / "manifest.json").read_text())
        assert f"{secret}: permission denied (run as root to include it)" in manifest["problems"]
        files = {e["path"]: e.get("file") for e in manifest["logs"]}
        assert str(secret) not in files
        assert (work / "bundle" / files[str(public)]).read_text() == "anyone reads this\n"
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def journal_bundle(tmp_path: Path) -> Iterator[Path]:
    """A bundle carrying a journal export as ``journalctl -o json`` writes it, and hostile
    ``logs`` entries: one not in the manifest's files, one a link out of the bundle."""
    writer = BundleWriter(tmp_path / "b")
    entries = [
        {
            "__REALTIME_TIMESTAMP": "1700000000000000",
            "SYSLOG_IDENTIFIER": "sshd",
            "_PID": "812",
            "PRIORITY": "3",
            "MESSAGE": f"Failed password for root token={SECRET}",
        },
        {"__REALTIME_TIMESTAMP": "1700000001000000", "MESSAGE": [104, 105, 255]},
    ]
    writer.add_bytes(
        "logs/host/journal.jsonl", b"".join(json.dumps(e).encode() + b"\n" for e in entries)
    )
    writer.logs.append(
        {"file": "logs/host/journal.jsonl", "stream": "journal:all", "kind": "journal"}
    )
    writer.logs.append({"file": "../../etc/passwd", "stream": "file:/etc/passwd", "kind": "host"})
    (tmp_path / "b" / "logs" / "host" / "out.log").symlink_to("/etc/hostname")
    writer.logs.append({"file": "logs/host/out.log", "stream": "file:/out", "kind": "host"})
    yield writer.finish(host="h1")


async def test_a_journal_export_opens_as_its_stream_and_hostile_entries_are_ignored(
    journal_bundle: Path,
) -> None:
    bundle = open_bundle(journal_bundle)
    source = BundleLogsSource(bundle.root, bundle.manifest, host="h1", ts=1_700_000_002.0)
    # Listed: the journal and the link; not the name outside the manifest's files.
    assert [log.stream for log in source.listed] == ["journal:all", "file:/out"]
    await source.open()
    batches = [event async for event in source.events()]
    assert all(isinstance(b, LogLines) and b.stream == "journal:all" for b in batches)
    lines = [line for batch in batches for line in batch.lines if isinstance(batch, LogLines)]
    assert [line.ts for line in lines] == [1_700_000_000.0, 1_700_000_001.0]
    assert lines[0].text == f"sshd[812]: Failed password for root token={MASK}"
    assert lines[1].text == "hi\ufffd"


async def test_a_host_log_keeps_its_lines_times_and_says_what_was_cut(tmp_path: Path) -> None:
    # Lines carry their own times (a traceback's lines the time of their message), so the
    # patterns and a merge by time tell when things happened; the cut start is said first.
    writer = BundleWriter(tmp_path / "b")
    writer.add_bytes(
        "logs/host/var/log/app.log",
        b"2026-11-24T10:00:00Z app[1]: worker started\n"
        b"Traceback (most recent call last):\n"
        b'  File "worker.py", line 3, in run\n'
        b"2026-11-24T10:00:07+00:00 app[1]: worker died\n"
        b"Nov 24 10:00:09 web-7 sshd[9]: Accepted publickey for deploy\n",
    )
    writer.logs.append(
        {
            "file": "logs/host/var/log/app.log",
            "stream": "file:/var/log/app.log",
            "kind": "host",
            "cut_bytes": 4096,
        }
    )
    bundle = open_bundle(writer.finish(host="h1"))
    source = BundleLogsSource(bundle.root, bundle.manifest, host="h1", ts=1_795_000_000.0)
    await source.open()
    lines = [
        line
        for batch in [event async for event in source.events()]
        if isinstance(batch, LogLines)
        for line in batch.lines
    ]
    assert lines[0].text == "[4,096 earlier bytes of this log are not here]"
    start = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC).timestamp()
    assert [line.ts for line in lines[1:5]] == [start, start, start, start + 7]
    # A syslog time has no zone or year: local time, in the year of the recording.
    assert lines[5].ts == datetime(2026, 11, 24, 10, 0, 9).timestamp()


async def test_a_log_that_became_a_fifo_is_skipped_not_waited_on(tmp_path: Path) -> None:
    # A bundle directory is opened in place: one of its logs replaced by a fifo would block
    # its reader (and the console's exit) for good.
    writer = BundleWriter(tmp_path / "b")
    for name in ("a", "b"):
        writer.add_bytes(f"logs/host/{name}.log", f"line of {name}\n".encode())
        writer.logs.append(
            {"file": f"logs/host/{name}.log", "stream": f"file:/{name}", "kind": "host"}
        )
    root = writer.finish(host="h1")
    (root / "logs/host/a.log").unlink()
    os.mkfifo(root / "logs/host/a.log")
    bundle = open_bundle(root)
    assert bundle.problems == ["logs/host/a.log: missing"]
    source = BundleLogsSource(bundle.root, bundle.manifest, host="h1", ts=1_700_000_000.0)
    await source.open()

    async def read() -> list[LogLines]:
        return [event async for event in source.events() if isinstance(event, LogLines)]

    batches = await asyncio.wait_for(read(), timeout=10)
    assert [(b.stream, [line.text for line in b.lines]) for b in batches] == [
        ("file:/b", ["line of b"])
    ]
