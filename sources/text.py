"""Text from the outside world made safe to show: nothing in it can drive the terminal.

Process names, command lines, mount points, config values and, later, log lines carry escape
sequences, C1 controls and undecodable bytes. Every one of them passes through ``safe_text``
before it reaches a widget, so raw control characters never reach the terminal.
"""

from __future__ import annotations


def safe_text(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape instead.

    C0 controls (ESC included), DEL, C1 controls (0x80-0x9f, which some terminals treat as
    CSI and OSC introducers) and other non-printable code points become ``\\x1b``-style escapes;
    a byte that was not valid in the file-system encoding (a lone surrogate from
    ``surrogateescape``) is shown as the byte it was.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
