"""``opsconsole open PATH``: a bundle or a sosreport in the full console, or ``--check``ed.

A bundle replays under a clock the user drives (sources/bundle_source.py, widgets/
replay_clock.py); its investigation opens as a copy in the data directory, so the user goes on
with it and the bundle stays as it was. A sosreport's outputs become events at the report's
time (sources/sosreport.py); what sos recorded as timed out or truncated, and the report's
problems (missing files, dangling links), are told in notifications. ``--check`` verifies
either without the UI, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsconsole import paths
from opsconsole.bundle import (
    Bundle,
    BundleError,
    check_bundle,
    open_streaming,
)
from opsconsole.config import Config
from opsconsole.sources.archive import ExtractionStopped
from opsconsole.sources.base import Source
from opsconsole.sources.bundle_source import BundleLogsSource, BundleSource, ReplayControl
from opsconsole.sources.events import SosReportInfo
from opsconsole.sources.sosreport import (
    SosReportSource,
    check_sosreport,
    is_sosreport,
    report_name,
)
from opsconsole.sources.text import safe_text

EXIT_PROBLEMS = 1


def check(path: Path) -> list[str]:
    """Every problem of the bundle or sosreport at ``path``; none when it is sound."""
    if not path.exists():
        return [f"{path}: no such file or directory"]
    if is_sosreport(path):
        return check_sosreport(path)
    return check_bundle(path)


@dataclass
class Opened:
    """What the console needs to show a bundle or a sosreport."""

    sources: list[Source]
    host: str
    config: Config
    control: ReplayControl | None = None
    """The replay clock (None for a sosreport: its facts have one time)."""
    problems: list[str] = field(default_factory=list)
    """Damage found on the way (shown as notifications); what remains opens."""
    investigation_copy: Path | None = None
    pending: Future[list[str]] | None = None
    """Damage still being looked for while the console runs (the rest of an archive
    extracting, checksums): told in notifications when found."""


def copy_investigation(bundle: Bundle, data_dir: Path) -> Path | None:
    """The bundle's investigation store copied to ``data_dir`` under a new name; its path."""
    source = bundle.investigation
    if source is None:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in bundle.host)[:60]
    target = paths.ensure_dir(data_dir) / f"investigation-from-{name}-{stamp}.db"
    counter = 1
    while target.exists():
        counter += 1
        target = target.with_name(f"investigation-from-{name}-{stamp}-{counter}.db")
    shutil.copyfile(source, target)
    return target


def prepare_bundle(
    bundle: Bundle, config: Config, *, speed: float = 1.0, paused: bool = False
) -> Opened:
    """The replay source, clock and config (its investigation copy) for an opened bundle."""
    start, end = bundle.time_span
    control = ReplayControl(start, end, speed=speed, paused=paused)
    copy = copy_investigation(bundle, paths.data_dir())
    if copy is not None:
        config = dataclasses.replace(
            config, investigation=dataclasses.replace(config.investigation, store=copy)
        )
    created = bundle.manifest.get("created")
    taken = end or (created if isinstance(created, int | float) else start) or 0.0
    # While an archive still extracts (its stream is growing), the logs wait for the rest.
    ready = bundle.pending if bundle.stream is not None else None
    logs = BundleLogsSource(bundle.root, bundle.manifest, host=bundle.host, ts=taken, ready=ready)
    return Opened(
        sources=[
            BundleSource(bundle.events, control, host=bundle.host),
            *([logs] if logs.listed else []),
        ],
        host=bundle.host,
        config=config,
        control=control,
        problems=list(bundle.problems),
        investigation_copy=copy,
        pending=bundle.pending,
    )


@contextlib.contextmanager
def opened(
    path: Path, config: Config, *, speed: float = 1.0, paused: bool = False
) -> Iterator[Opened]:
    """Open ``path`` for the console; what an archive was unpacked into goes on the way out.
    BundleError when it cannot be opened."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-open-") as work:
        if is_sosreport(path):
            yield _prepare_sosreport(path, Path(work), config)
        else:
            # The first screen comes while the rest of an archive extracts.
            bundle = open_streaming(path, Path(work))
            try:
                yield prepare_bundle(bundle, config, speed=speed, paused=paused)
            finally:
                bundle.close()


def _prepare_sosreport(path: Path, work: Path, config: Config) -> Opened:
    source = SosReportSource(path, workdir=work)
    return Opened(sources=[source], host=report_name(path), config=config)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``opsconsole open``; the exit status."""
    path: Path = args.path
    if args.check:
        problems = check(path)
        for problem in problems:
            print(f"{safe_text(str(path))}: {safe_text(problem)}", file=sys.stderr)
        if not problems:
            print(f"{safe_text(str(path))}: sound")
        return EXIT_PROBLEMS if problems else 0
    try:
        with opened(path, config, speed=args.speed, paused=args.paused) as session:
            return _run_app(session)
    except BundleError as error:
        print(f"opsconsole open: {safe_text(str(error))}", file=sys.stderr)
        return EXIT_PROBLEMS


def make_app(session: Opened) -> Any:
    """The console for ``session``, with the replay clock when it has one; the problems found
    while opening are told in notifications."""
    from opsconsole.app import OpsConsoleApp
    from opsconsole.paths import themes_dir

    app = OpsConsoleApp(
        session.config,
        session.sources,
        hostname=session.host,
        theme_dir=themes_dir(),
        replay=session.control,
    )
    _tell(app, session.problems)
    if session.pending is not None:
        app.call_later(_tell_when_found, app, session.pending)
    if any(isinstance(source, SosReportSource) for source in session.sources):
        app.call_later(_tell_sos_report, app)
    return app


MAX_NOTICES = 10
"""Problems told one by one; the rest in one more notification (``open --check`` lists all)."""


def _tell(app: Any, problems: list[str], title: str = "Bundle damaged") -> None:
    for problem in problems[:MAX_NOTICES]:
        app.notify(safe_text(problem), title=title, severity="warning", markup=False)
    if len(problems) > MAX_NOTICES:
        more = len(problems) - MAX_NOTICES
        app.notify(f"{more} more problems: opsconsole open --check lists them all", markup=False)


def _tell_when_found(app: Any, pending: Future[list[str]]) -> None:
    """Notify the problems found after the first screen (from the app's loop)."""

    async def tell() -> None:
        try:
            problems = await asyncio.wrap_future(pending)
        except BundleError as error:
            app.notify(
                safe_text(str(error)), title="Bundle refused", severity="error", markup=False
            )
            return
        except ExtractionStopped:
            return  # closing
        _tell(app, problems)

    app.run_worker(tell(), group="bundle-check")


def sos_notices(info: SosReportInfo) -> list[str]:
    """What a sosreport's user is told first: the commands sos recorded as timed out or cut
    short (their output is partial or absent), then each problem met reading the report."""
    notices = []
    for what, commands in (
        ("timed out", [c.command for c in info.commands if c.timed_out]),
        ("truncated", [c.command for c in info.commands if c.truncated]),
    ):
        if commands:
            more = f" and {len(commands) - 3} more" if len(commands) > 3 else ""
            notices.append(f"sos recorded {len(commands)} {what}: {', '.join(commands[:3])}{more}")
    return notices + list(info.problems)


def _tell_sos_report(app: Any) -> None:
    """Tell what sos recorded about the report and its problems once the report is read (from
    the app's loop)."""
    subscription = app.hub.subscribe(kinds=("sos.report",))

    async def tell() -> None:
        try:
            while batch := await subscription.batch():
                info = next((e for e in batch if isinstance(e, SosReportInfo)), None)
                if info is not None:
                    _tell(app, sos_notices(info), title="sosreport")
                    return
        finally:
            app.hub.unsubscribe(subscription)

    app.run_worker(tell(), group="sos-report")


def _run_app(session: Opened) -> int:
    app = make_app(session)
    app.run()
    if session.investigation_copy is not None:
        print(f"investigation copy kept at {session.investigation_copy}")
    return app.return_code or 0
