"""Screening a candidate's CUDA source before any compiler reads it (nvcc.py's first layer).

Refuses anything that makes the compiler open a file of the candidate's
choosing: only `#include <name>` of plain header names, no quoted or computed
includes, no `#line` or linemarkers, no `_Pragma`, no `__has_include`; inline
assembly holds plain PTX instructions only (asm_screen.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .asm_screen import asm_refusal

_SPLICE_END = re.compile(r"\\[ \t\f\v]*$")           # gcc also splices "\<spaces><newline>"
_TRIGRAPH = re.compile(r"\?\?[=/'()!<>\-]")
_RAW_STRING = re.compile(r"(?<![A-Za-z0-9_])(?:u8|[uUL])?R\"")
_PP_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.']*$")
_HEADER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:/[A-Za-z_][A-Za-z0-9_\-]*)*(?:\.[A-Za-z]{1,4})?")
_DIRECTIVE = re.compile(r"\s*(?:#|%:)\s*([A-Za-z_]\w*|\d+)?(.*)", re.S)
_PLAIN_DIRECTIVES = frozenset({
    "define", "undef", "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif", "error", "warning",
})
_PRAGMAS = frozenset({"unroll", "nounroll", "once", "pack", "push_macro", "pop_macro",
                      "nv_diag_suppress", "nv_diag_default", "nv_diag_warning", "nv_diag_error"})
_FORBIDDEN_WORDS = ("_Pragma", "__has_include", "__has_include_next")  # a pragma or a file probe from code


@dataclass(frozen=True)
class Screen:
    refusal: str | None            # why the source is refused, or None
    includes: tuple[str, ...] = ()


def _spliced(text: str) -> str:
    """Join lines that end in a backslash (translation phase 2); the joined lines' newlines
    come back after the logical line, so that line numbers still match the source."""
    out, carried = [], 0
    for line in text.split("\n"):
        joined = _SPLICE_END.sub("", line)
        if joined != line:
            out.append(joined)
            carried += 1
        else:
            out.append(line + "\n" * (1 + carried))
            carried = 0
    return "".join(out)


def _without_comments(text: str) -> str | None:
    """Comments replaced as the compiler does (a block comment is one space); None if one never ends.

    String and character literals are copied through, so a `/*` inside one is
    not a comment; a literal ends at its quote or at the end of its line. A `'`
    inside a number is a digit separator (1'000'000), not a character literal:
    reading it as one would put this scan out of step with the compiler. The
    newlines inside a block comment come back at the end of its logical line.
    """
    out: list[str] = []
    carried = 0
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None
            out.append(" ")
            carried += text.count("\n", i, end)
            i = end + 2
            continue
        c = text[i]
        if c == "\n":
            out.append("\n" * (1 + carried))
            carried = 0
            i += 1
            continue
        if c == "'" and re.match(r"[A-Za-z0-9_]", text[i + 1:i + 2]) \
                and re.match(r"\.?\d", _PP_NUMBER_TAIL.search("".join(out[-64:])).group()):
            out.append(c)                       # a digit separator inside a number: 1'000, 0xFF'FF
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] not in (c, "\n"):
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:min(j + 1, n)] if j < n and text[j] == c else text[i:j])
            i = j + 1 if j < n and text[j] == c else j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def screen_source(source: str) -> Screen:
    """Refuse what would make the compiler open files the source names (see the module docstring)."""
    if "\0" in source:
        return Screen("the source contains a NUL byte")
    if _TRIGRAPH.search(source):
        return Screen("trigraphs (??= and the like) are not accepted")
    # gcc ends a line at \n, \r\n or a lone \r: a lone \r must not hide a directive from this scan
    text = _spliced(source.replace("\r\n", "\n").replace("\r", "\n"))
    if _RAW_STRING.search(text):
        return Screen("raw string literals (R\"...\") are not accepted")
    code = _without_comments(text)
    if code is None:
        return Screen("a /* comment is never closed")
    for word in _FORBIDDEN_WORDS:
        if re.search(rf"(?<![A-Za-z0-9_]){word}(?![A-Za-z0-9_])", code):
            return Screen(f"{word} is not accepted")
    includes = []
    for number, line in enumerate(code.split("\n"), 1):
        match = _DIRECTIVE.fullmatch(line)
        if not match:
            continue
        name, rest = match.group(1), match.group(2).strip()
        if name is None and not rest:
            continue                            # the null directive: a lone #
        if name is None:
            return Screen(f"line {number}: unreadable preprocessor directive #{rest[:40]}")
        if name in _PLAIN_DIRECTIVES:
            continue
        if name == "pragma":
            words = rest.split()
            if words and (words[0] in _PRAGMAS or words[:2] == ["GCC", "diagnostic"]):
                continue
            return Screen(f"line {number}: #pragma {rest[:40]} is not accepted "
                          f"(accepted: {', '.join(sorted(_PRAGMAS))}, GCC diagnostic)")
        if name == "include":
            header = re.fullmatch(r"<([^<>]*)>", rest)
            if not header or not _HEADER.fullmatch(header.group(1)):
                return Screen(f"line {number}: only #include <header> of a system or CUDA header is accepted, "
                              f"not #include {rest[:60]}")
            includes.append(header.group(1))
            continue
        return Screen(f"line {number}: the #{name} directive is not accepted")
    refusal = asm_refusal(code)
    if refusal:
        return Screen(refusal)
    return Screen(None, tuple(includes))


# ---------------------------------------------------------------- compiling
