"""``opsconsole open PATH``: a bundle or a sosreport in the full console, or ``--check``ed.

A bundle replays under a clock the user drives (sources/bundle_source.py, widgets/
replay_clock.py); its investigation opens as a copy in the data directory, so the user goes on
with it and the bundle stays as it was. A sosreport's outputs become events at the report's
time (sources/sosreport.py). ``--check`` verifies either without the UI, for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsconsole import paths
from opsconsole.bundle import (
    Bundle,
    BundleError,
    check_bundle,
    open_bundle,
)
from opsconsole.config import Config
from opsconsole.sources.base import Source
from opsconsole.sources.bundle_source import BundleSource, ReplayControl
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
    return Opened(
        sources=[BundleSource(bundle.events, control, host=bundle.host)],
        host=bundle.host,
        config=config,
        control=control,
        problems=list(bundle.problems),
        investigation_copy=copy,
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
            bundle = open_bundle(path, Path(work))
            yield prepare_bundle(bundle, config, speed=speed, paused=paused)


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
    for problem in session.problems:
        app.notify(problem, title="Bundle damaged", severity="warning", markup=False)
    return app


def _run_app(session: Opened) -> int:
    app = make_app(session)
    app.run()
    if session.investigation_copy is not None:
        print(f"investigation copy kept at {session.investigation_copy}")
    return app.return_code or 0
