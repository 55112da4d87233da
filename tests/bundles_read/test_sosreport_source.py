"""A sosreport tree in the real layout, and its .tar.xz, read into events by SosReportSource."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import TypeVar

import pytest

from opsconsole.sources.base import Source, SourceUnavailable
from opsconsole.sources.events import (
    ContainerList,
    Event,
    HostFacts,
    HostSample,
    LogLines,
    ProcessTable,
    SosReportInfo,
    decode,
    encode,
)
from opsconsole.sources.sosreport import (
    SosReportSource,
    check_sosreport,
    is_sosreport,
    parse_df,
    parse_ps,
)
from tests.bundles_read.sosbuild import (
    DOCKER_RUNNING,
    NAME,
    PODMAN_EXITED,
    REPORT_END,
    ROOTLESS_WEB,
    Damage,
    build_sosreport,
    pack,
)

E = TypeVar("E", bound=Event)


async def _all(source: SosReportSource) -> list[Event]:
    await source.open()
    try:
        return [event async for event in source.events()]
    finally:
        await source.close()


def _one(events: list[Event], kind: type[E]) -> E:
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, f"{kind.__name__}: {len(found)}"
    return found[0]


def _check_report(events: list[Event]) -> None:
    """What a user sees of the built report, whichever way it was opened."""
    assert all(e.ts == REPORT_END and e.host == "web01.example.com" for e in events)
    facts = _one(events, HostFacts)
    assert facts.kernel is not None and facts.kernel.startswith("Linux web01 6.1.0-13-amd64")
    assert facts.os == "Debian GNU/Linux 12 (bookworm)" and facts.uptime == 273900.5

    sample = _one(events, HostSample)
    assert sample.load == (3.52, 2.10, 1.05) and sample.cpu_count == 4
    assert sample.mem_total == 16303488 * 1024 and sample.mem_available == 6571304 * 1024
    assert sample.swap_percent == 25.0
    assert [(d.mount, d.fstype, d.percent) for d in sample.disks] == [
        ("/", "ext4", 90.0),
        ("/var/lib/containers", "xfs", 10.0),
        ("/run", "tmpfs", 0.1),
    ]

    table = _one(events, ProcessTable)
    assert table.total == 4 and table.running == 1
    top = table.rows[0]
    assert (top.pid, top.user, top.name, top.state, top.threads) == (
        4242,
        "mysql",
        "mysqld",
        "R",
        3,
    )
    assert top.rss == 2031616 * 1024 and top.cpu_percent == 87.5
    nginx = next(r for r in table.rows if r.pid == 5151)
    assert "\x1b" not in nginx.command and "\\x1b[31m" in nginx.command
    assert next(r for r in table.rows if r.pid == 2).name == "kthreadd"

    lists = {e.engine: e for e in events if isinstance(e, ContainerList)}
    podman = {c.name: c for c in lists["sosreport:podman"].containers}
    assert podman["web"].state == "running" and podman["web"].ports == "0.0.0.0:8080->80/tcp"
    assert podman["web"].project == "shop" and podman["web"].restarts == 2
    cache = podman["cache"]
    assert (cache.id, cache.state, cache.exit_code, cache.oom_killed) == (
        PODMAN_EXITED,
        "exited",
        137,
        True,
    )
    docker = lists["sosreport:docker"].containers
    assert [(c.id, c.name, c.runtime) for c in docker] == [(DOCKER_RUNNING, "db", "docker")]

    logs = {e.stream: e for e in events if isinstance(e, LogLines)}
    web = logs["container:podman:web"].lines
    assert [line.text for line in web] == ["10.0.0.1 - GET / 200", "10.0.0.2 - GET /missing 404"]
    assert web[1].ts == pytest.approx(1795510801.5)
    assert len(logs["file:/var/log/messages"].lines) == 50
    assert "Out of memory" in logs["journal:journalctl_--no-pager_--boot"].lines[1].text

    info = _one(events, SosReportInfo)
    assert (info.name, info.version, info.policy) == (NAME, "4.5", "Debian")
    commands = {c.command: c for c in info.commands}
    assert commands["lsof M -n -l -c ''"].timed_out
    assert commands["journalctl --no-pager --boot"].truncated
    assert commands["ip -s link"].missing
    assert not commands["ps auxwwwm"].missing
    assert set(info.problems) >= {
        "lsof: dangling symlink to 'sos_commands/process/lsof_M_-n_-l_-c'",
        "sos_commands/networking/ip_-s_link: the manifest lists it for 'ip -s link', no such file",
        "etc/hosts: listed by plugin networking, no such file",
    }
    # The static picture comes before the logs, so the first screen does not wait for them.
    first_log = next(
        i for i, e in enumerate(events) if isinstance(e, LogLines) and e.stream[0] != "c"
    )
    assert events.index(info) < first_log
    for event in events:  # recordable and replayable as they are
        assert decode(encode(event)) == event


async def test_a_sosreport_directory_becomes_events(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path)
    source = SosReportSource(root)
    assert isinstance(source, Source) and source.live is False and source.id == f"sosreport:{NAME}"
    _check_report(await _all(source))
    assert (root / "version.txt").exists()  # a directory is read in place, never removed


async def test_its_tar_xz_archive_gives_the_same_and_cleans_up(tmp_path: Path) -> None:
    archive = pack(build_sosreport(tmp_path / "src"), tmp_path / f"{NAME}.tar.xz")
    work = tmp_path / "work"
    work.mkdir()
    source = SosReportSource(archive, workdir=work)
    assert source.id == f"sosreport:{NAME}"
    _check_report(await _all(source))
    assert list(work.iterdir()) == []


def test_check_reports_each_problem_and_passes_a_sound_report(tmp_path: Path) -> None:
    damaged = build_sosreport(tmp_path / "a")
    problems = check_sosreport(damaged)
    assert len(problems) == 3 and any("dangling symlink" in p for p in problems)
    sound = build_sosreport(tmp_path / "b", damage=Damage(missing_file=False, dangling_link=False))
    assert check_sosreport(sound) == []
    assert check_sosreport(pack(sound, tmp_path / "sound.tar.gz")) == []
    not_sos = tmp_path / "plain"
    not_sos.mkdir()
    assert check_sosreport(not_sos) == [
        "plain: not a sosreport (no sos_commands/, sos_reports/manifest.json or version.txt)"
    ]


def test_hostile_members_and_links_leaving_the_report_are_problems(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path / "src", damage=Damage(missing_file=False, dangling_link=False))
    (root / "hostname").unlink()
    secret = tmp_path / "secret"
    secret.write_text("not the host's name\n")
    (root / "hostname").symlink_to(secret)  # absolute, leaving the report
    (root / "etc" / "hostname").symlink_to("../../../secret")
    problems = check_sosreport(root)
    assert any(p.startswith("hostname: link to") and "leaves the report" in p for p in problems)
    archive = tmp_path / "evil.tar.xz"
    pack(root, archive)
    with tarfile.open(archive, "r:xz") as tar:
        names = tar.getnames()
    assert f"{NAME}/hostname" in names
    archived = check_sosreport(archive)
    assert f"{NAME}/hostname: skipped, symlink to '{secret}': absolute or empty target" in archived
    assert (
        f"{NAME}/etc/hostname: skipped, symlink to '../../../secret' points outside the archive"
        in archived
    )


async def test_a_truncated_report_archive_still_opens(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path / "src", log_files=6, log_bytes=200_000)
    archive = pack(root, tmp_path / f"{NAME}.tar")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 300_000])
    problems = check_sosreport(archive)
    assert any("archive breaks at member" in p for p in problems)
    events = await _all(SosReportSource(archive, workdir=tmp_path))
    info = _one(events, SosReportInfo)
    assert any("archive breaks at member" in p for p in info.problems)
    assert _one(events, HostFacts).hostname == "web01.example.com"


async def test_not_a_sosreport_is_unavailable_for_good(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"\x1f\x8b garbage")
    source = SosReportSource(bogus, workdir=tmp_path)
    with pytest.raises(SourceUnavailable) as caught:
        await source.open()
    assert caught.value.permanent and "not a readable tar archive" in caught.value.reason
    assert [p.name for p in tmp_path.iterdir()] == ["bogus.tar.gz"]


def test_is_sosreport_tells_reports_from_other_archives(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path / "src")
    assert is_sosreport(root) and is_sosreport(tmp_path / "src")
    assert is_sosreport(pack(root, tmp_path / "r.tar.xz"))
    other = tmp_path / "other"
    (other / "x").mkdir(parents=True)
    (other / "x" / "events.jsonl").write_text("{}\n")
    assert not is_sosreport(other)
    assert not is_sosreport(pack(other, tmp_path / "o.tar.gz"))


def test_ps_without_threads_and_df_oddities() -> None:
    rows, total = parse_ps(
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "root 10 1.0 0.5 100 2048 ? Ss 10:00 0:00 /usr/bin/a\n"
        "root 11 0.0 0.1 100 1024 ? S 10:00 0:00  \\_ /usr/bin/child --x\n"
        "garbage line\n",
        forest=True,
    )
    assert total == 2 and [(r.pid, r.state, r.command) for r in rows] == [
        (10, "S", "/usr/bin/a"),
        (11, "S", "/usr/bin/child --x"),
    ]
    disks = parse_df(
        "Filesystem 1K-blocks Used Available Use% Mounted on\n"
        "/dev/sdb1 100 50 50 50% /mnt/with space\n"
        "proc - - - - /proc\n"
    )
    assert [(d.mount, d.percent) for d in disks] == [("/mnt/with space", 50.0)]


async def test_a_report_with_its_main_outputs_gone_still_opens(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path)
    (root / "sos_reports" / "manifest.json").write_text("{not json")
    for rel in ("sos_commands/process/ps_auxwwwm", "sos_commands/memory/free", "df"):
        (root / rel).unlink()
    (root / "sos_commands" / "podman" / "podman_ps_-a").unlink()
    events = await _all(SosReportSource(root))
    info = _one(events, SosReportInfo)
    assert any(p.startswith("sos_reports/manifest.json: not valid JSON") for p in info.problems)
    assert any(
        p == "ps: dangling symlink to 'sos_commands/process/ps_auxwwwm'" for p in info.problems
    )
    assert not any(isinstance(e, ProcessTable) for e in events)
    sample = _one(events, HostSample)
    assert sample.mem_total is None
    assert len(sample.disks) == 3  # the df link is gone; its sos_commands file still reads
    # Without podman ps, the inspect files alone still list the containers.
    podman = next(e for e in events if isinstance(e, ContainerList) and e.engine.endswith("podman"))
    assert sorted(c.name for c in podman.containers) == ["cache", "web"]
    assert _one(events, HostFacts).hostname == "web01.example.com"


async def test_rootless_podman_users_show_as_their_own_engines(tmp_path: Path) -> None:
    root = build_sosreport(tmp_path, users=("alice", "bob"))
    # A hostile "user" that is a link out of the report is not followed.
    (root / "sos_commands/podman/users/mallory").symlink_to("/etc")
    archive = pack(root, tmp_path / f"{NAME}.tar.xz")
    for path in (root, archive):
        events = await _all(SosReportSource(path, workdir=tmp_path))
        lists = {e.engine: e for e in events if isinstance(e, ContainerList)}
        assert sorted(lists) == [
            "sosreport:docker",
            "sosreport:podman",
            "sosreport:podman:alice",
            "sosreport:podman:bob",
        ]
        # Root's web and alice's web are two containers; whose each is shows in its name.
        assert [c.name for c in lists["sosreport:podman"].containers] == ["web", "cache"]
        (alice,) = lists["sosreport:podman:alice"].containers
        assert (alice.name, alice.id, alice.state, alice.runtime) == (
            "alice/web",
            ROOTLESS_WEB,
            "running",
            "podman",
        )
        assert alice.project == "shop" and alice.restarts == 2  # from its inspect
        logs = {e.stream: e for e in events if isinstance(e, LogLines)}
        line = logs["container:podman:alice/web"].lines[0]
        assert line.text == "rootless alice serving" and line.ts == 1_795_511_400.0
        assert "container:podman:bob/web" in logs
