"""``opsconsole logs PATH... | -``: straight into the log view.

Files, directories and globs open through their index; ``-`` reads standard input (a pipe such
as ``journalctl -f | opsconsole logs -``); ``--journal`` runs ``journalctl -o json --follow``.
Textual reads the keyboard from standard input, so with ``-`` the pipe is moved to another
descriptor and the terminal (``/dev/tty``) is put in its place before the app starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

from opsconsole.sources.text import safe_text

if TYPE_CHECKING:  # loaded only when argparse parses: see quick_args
    import argparse

EXIT_NO_LOG = 1

LINES: Final = 200_000
"""Lines a stream keeps unless ``--lines`` says otherwise."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``logs`` subcommand to the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "logs",
        help="open log files, a directory, globs, a pipe (-) or the journal in the log view",
        description="Open logs in the log view: files (followed, rotation and truncation "
        "handled), directories and globs (the 64 newest files), - for standard input, "
        "--journal for journald. Keys: / search, & filter, e/E errors, m marks, f follow, ? help.",
    )
    parser.add_argument("paths", metavar="PATH", nargs="*", help="file, directory, glob, or -")
    parser.add_argument(
        "--journal", action="store_true", help="follow journald (journalctl -o json --follow)"
    )
    parser.add_argument("-u", "--unit", metavar="UNIT", help="journald: only this unit")
    parser.add_argument(
        "--journal-file",
        metavar="PATH",
        help="journald: read this journal file (a copy, a sosreport's), followed every second",
    )
    parser.add_argument(
        "--lines", metavar="N", type=int, default=LINES, help=f"lines a stream keeps ({LINES})"
    )
    return parser


_TEXT_OPTIONS: Final = {"-u": "unit", "--unit": "unit", "--journal-file": "journal_file"}


def quick_args(words: Sequence[str]) -> dict[str, Any] | None:
    """What the parser ``add_parser`` adds gives for ``words`` (all after ``logs``), without
    argparse; None for anything it does not take plainly, for argparse to parse or refuse."""
    args: dict[str, Any] = {
        "paths": [],
        "journal": False,
        "unit": None,
        "journal_file": None,
        "lines": LINES,
    }
    # argparse takes the paths as one run: more after an option that follows some is an error.
    ended = False
    rest = iter(words)
    for word in rest:
        if word == "-" or not word.startswith("-"):
            if ended:
                return None
            args["paths"].append(word)
            continue
        ended = bool(args["paths"])
        if word == "--journal":
            args["journal"] = True
            continue
        value = next(rest, None)
        if value is None or value.startswith("-"):
            return None
        if word in _TEXT_OPTIONS:
            args[_TEXT_OPTIONS[word]] = value
            continue
        if word != "--lines":
            return None
        try:
            args["lines"] = int(value)
        except ValueError:
            return None
    return args


def stdin_stream() -> int:
    """Move a piped standard input to a new descriptor and give the terminal to fd 0.

    Returns the pipe's descriptor. OSError when there is no terminal to read keys from.
    """
    pipe = os.dup(0)
    tty = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    os.dup2(tty, 0)
    os.close(tty)
    os.set_inheritable(pipe, False)
    return pipe


def run(args: argparse.Namespace | SimpleNamespace, theme: str | None = None) -> int:
    """Open the logs ``args`` names in the log view; the exit status."""
    from opsconsole.sources.log_index import Document
    from opsconsole.sources.log_sources import (
        JournalStream,
        RingDocument,
        follow_fd,
        journal_stream,
    )
    from opsconsole.widgets.log_view import open_documents

    errors: list[str] = []
    paths = [path for path in args.paths if path != "-"]
    documents: list[Document] = open_documents(paths, on_error=errors.append)
    if "-" in args.paths:
        if sys.stdin.isatty():
            errors.append(
                "-: standard input is a terminal, not a pipe (try: cmd | opsconsole logs -)"
            )
        else:
            try:
                pipe = stdin_stream()
            except OSError as error:
                print(f"opsconsole logs: no terminal for the keyboard: {error}", file=sys.stderr)
                return EXIT_NO_LOG
            stream = RingDocument("stdin", capacity=args.lines)
            follow_fd(pipe, stream)
            documents.insert(0, stream)
    journal: JournalStream | None = None
    if args.journal or args.unit or args.journal_file:
        stream = RingDocument(f"journal:{args.unit or args.journal_file or 'all'}", args.lines)
        journal = journal_stream(stream, args.unit, args.journal_file)
        journal.start()
        documents.append(stream)
    if not documents:
        for message in errors or ["nothing to show: give a file, a glob, - or --journal"]:
            print(f"opsconsole logs: {safe_text(message)}", file=sys.stderr)
        return EXIT_NO_LOG
    app = _app_class()(documents, errors, theme=theme)
    try:
        app.run()
    finally:
        if journal is not None:
            journal.stop()
    return app.return_code or 0


def _app_class() -> Any:
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.driver import Driver

    from opsconsole.sources.log_index import Document
    from opsconsole.themes.builtin import BUILTIN_THEMES, DEFAULT_THEME, start_with_theme
    from opsconsole.widgets.log_view import LogPane

    class LogsApp(App[int]):
        """The log view alone, full screen: what ``opsconsole logs`` runs."""

        TITLE = "opsconsole logs"
        BINDINGS = [
            Binding("q", "quit", "Quit", id="logs_app.quit"),
            Binding("question_mark", "help", "Help", id="logs_app.help"),
        ]

        _theme_chosen = False
        """False until the theme is chosen: see ``get_css_variables``."""

        def __init__(
            self, documents: Sequence[Document], errors: Sequence[str], theme: str | None = None
        ) -> None:
            super().__init__()
            self._documents = list(documents)
            self._errors = list(errors)
            for item in BUILTIN_THEMES:
                self.register_theme(item)
            self._theme_chosen = True
            start_with_theme(self, theme if theme in self.available_themes else DEFAULT_THEME)

        def get_driver_class(self) -> type[Driver]:
            # As the console's: an input thread that sleeps until a key comes.
            from opsconsole.driver import quiet_driver

            return quiet_driver(super().get_driver_class())

        def get_css_variables(self) -> dict[str, str]:
            """The theme's variables; none while ``App.__init__`` asks, before the theme is
            chosen, as ``start_with_theme`` replaces them all before any style is parsed.
            Generating Textual's default theme's colours for nothing cost ``opsconsole logs
            FILE`` 6M instructions before its first frame."""
            return super().get_css_variables() if self._theme_chosen else {}

        def compose(self) -> ComposeResult:
            yield LogPane(self._documents, id="logs")

        def on_mount(self) -> None:
            for error in self._errors:
                self.notify(error, title="Not opened", severity="error", timeout=15, markup=False)
            self.query_one(LogPane).view.focus()
            # The footer (its module, styles and a widget per key) comes one frame after the
            # log's last screen: that screen is what the user waits for.
            self.call_after_refresh(self._mount_footer)

        async def _mount_footer(self) -> None:
            from textual.widgets import Footer

            if self.is_running:
                await self.mount(Footer())
                self.refresh_bindings()  # it fills in on this signal, sent before it came

        def action_help(self) -> None:
            """Show every key."""
            from opsconsole.help import HelpScreen, binding_groups  # only when asked for

            if not isinstance(self.screen, HelpScreen):
                self.push_screen(HelpScreen(list(binding_groups(self, self.screen))))

    return LogsApp
