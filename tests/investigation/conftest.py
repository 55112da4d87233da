"""Fixtures of the investigation tests: a store on a real SQLite file, a small real filesystem."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.store import Store

T0 = 1_795_000_000.0
"""A fixed wall-clock time (2026-11-18 11:06:40 UTC) the deterministic tests start at."""


class Clock:
    """A clock the tests move by hand, so stored times and reports are reproducible."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 60.0) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(tmp_path / "data" / "investigations.db", clock=clock) as opened:
        yield opened


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for the test (we run as root), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; the filler file, to delete."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                continue
    return filler


def build_incident(store: Store, clock: Clock) -> int:
    """A small but complete incident, with markup and markdown in what the engineer typed."""
    from opsconsole.evidence import EvidenceDraft
    from opsconsole.store import TimelineDraft

    incident = store.create_incident(
        "Checkout [red]502s[/red] *after* deploy",
        severity="SEV2",
        impact="EU customers cannot pay | 30% of checkouts fail",
        services=["web", "payments-db"],
    )
    clock.tick(60)
    store.set_status(incident.id, "acknowledged")
    a, b, _ = store.add_steps(
        incident.id, ["Check replication lag", "Roll back deploy 1234", "Add an alert"]
    )
    store.update_step(a.id, status="done", owner="ana", note="lag 0s")
    store.update_step(b.id, status="doing", owner="bo")
    clock.tick(30)
    e1 = store.add_evidence(
        incident.id,
        EvidenceDraft(
            kind="log",
            source="file:/var/log/nginx/error.log",
            host="web-7",
            ts=T0 + 20,
            title="upstream timed out",
            content="2026/11/18 08:27:00 [error] upstream timed out (110) ```x```\n"
            "\x1b[31mred escape\x1b[0m",
            locator={"pane": "logs", "stream": "file:/var/log/nginx/error.log", "line": "42"},
        ),
    )
    e2 = store.add_evidence(
        incident.id,
        EvidenceDraft(
            kind="container",
            source="podman:/run/podman/podman.sock",
            host="web-7",
            ts=T0 + 25,
            title="container payments-db exited",
            content="state exited status 'Exited (137)' oom_killed True",
            locator={"pane": "containers", "id": "abc123"},
        ),
    )
    h1 = store.add_hypothesis(incident.id, "DB pool exhausted by the new ORM", [e1.id])
    store.add_hypothesis(incident.id, "Network partition")
    h3 = store.add_hypothesis(incident.id, "payments-db OOM", [e2.id])
    store.set_hypothesis_status(h3.id, "confirmed")
    store.set_hypothesis_status(h1.id, "refuted")
    store.add_timeline(
        incident.id,
        [
            TimelineDraft(
                ts=T0 + 15, kind="alert", text="Alert critical on web-7: 5xx rate 31%", dedup="x"
            ),
            TimelineDraft(
                ts=T0 + 95,
                kind="action",
                text="Restart container payments-db",
                command="podman restart payments-db",
                source="podman",
                dedup="y",
            ),
        ],
    )
    clock.tick(60)
    store.add_manual_entry(incident.id, "Paged the DB team [b]now[/b]")
    store.save_notes(
        incident.id,
        "# Summary\n\nThe DB was OOM-killed [E2]; the 502s followed [E1].\n"
        "Unknown citation [E99] stays as typed.\n\t- tabbed [red]markup[/red]\n",
        0,
    )
    clock.tick(600)
    store.set_status(incident.id, "mitigated")
    return incident.id
