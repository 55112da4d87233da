"""A filter over a stream that drops its oldest lines keeps listing the right lines."""

from __future__ import annotations

import time

from opsconsole.sources.log_sources import RingDocument
from opsconsole.widgets.log_view import FilteredDocument, FilterSpec


def _wait(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the filter did not catch up"
        time.sleep(0.02)


def _texts(document: FilteredDocument) -> list[str]:
    return [document.line(n).text for n in range(document.line_count)]


def test_a_filter_over_a_ring_that_turns_keeps_the_right_lines() -> None:
    # A container logging faster than its ring holds: the ring drops its oldest lines while
    # the filter follows it. What the filter lists must be the matching lines still held.
    ring = RingDocument("container:web", capacity=100)
    ring.append_text(f"line {n} ERROR" if n % 5 == 0 else f"line {n} ok" for n in range(50))
    errors = FilteredDocument(ring, FilterSpec.parse("ERROR"))
    try:
        _wait(lambda: errors.done and errors.line_count == 10)
        assert _texts(errors)[:2] == ["line 0 ERROR", "line 5 ERROR"]
        ring.append_text(
            f"line {n} ERROR" if n % 5 == 0 else f"line {n} ok" for n in range(50, 250)
        )
        # The ring holds lines 150-249: 20 errors, from "line 150 ERROR" on.
        _wait(lambda: any("line 245" in text for text in _texts(errors)))
        shown = [text for text in _texts(errors) if text.startswith("line ")]
        assert shown == [f"line {n} ERROR" for n in range(150, 250, 5)]
        # The view's jump from a filtered line to the stream lands on that very line.
        index = next(i for i, text in enumerate(_texts(errors)) if text == "line 200 ERROR")
        assert ring.line(errors.base_index(index)).text == "line 200 ERROR"
        assert errors.index_of(errors.base_index(index)) == index
    finally:
        errors.stop()
