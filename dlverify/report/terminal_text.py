"""Candidate-controlled text made safe to show on a terminal: one helper for every command.

File names, exception messages, summaries and answers come from the candidate.
Rich's markup escaping stops `[bold]` being read as a style but lets control
characters through: an ESC sequence can clear the screen or move the cursor,
a newline or carriage return can draw a forged "PASSED" row, a bidi override
can make `gnp.py` read as `ypg.png`. Every such character is shown as its
escape (`\\x1b`, `\\u202e`), visible to the reader and obeyed by nothing, and a
lone surrogate (a file name that is not UTF-8) is shown the same way rather
than failing the write to a UTF-8 terminal.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.markup import escape

# Cc: C0, DEL and C1 controls (ESC, CR, BEL, CSI...). Cf: format characters (bidi overrides and
# isolates U+202A-202E, U+2066-2069, marks, zero-width ones). Zl/Zp: line and paragraph
# separators (a newline to some terminals). Cs: lone surrogates (surrogateescape'd bytes).
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: Any, *, newlines: bool = False) -> str:
    """`text` with every control, format and separator character replaced by its escape.

    With `newlines`, a plain `\\n` is kept (a traceback shown in full); nothing else is.
    """
    text = str(text)
    if text.isascii() and text.isprintable():
        return text  # the common case, untouched
    return "".join(_shown(c) if unicodedata.category(c) in _HIDDEN and not (newlines and c == "\n") else c
                   for c in text)


def markup(text: Any, *, newlines: bool = False) -> str:
    """`plain(text)` escaped for rich markup: to put inside an f-string given to `console.print`."""
    return escape(plain(text, newlines=newlines))


def plain_deep(value: Any) -> Any:
    """Every string inside dicts and lists (a report built from answers and results) made `plain`."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        return {k: plain_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_deep(v) for v in value)
    return value
