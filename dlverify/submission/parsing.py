"""Parsing a candidate's Python in the host: every failure is one line about the source.

`ast.parse` runs no candidate code, but it is not total: a 300,000-term sum
raises RecursionError while the tree is built, a long chain of unary minus
MemoryError, a null byte ValueError. Each is the candidate's doing, so each
must be the candidate's `failed` or `rejected`, never the grader's `error` (or
exit 3). Every host-side parse of submitted source goes through parse_source().
The source is already capped at MAX_SOURCE_BYTES when it is read, which bounds
the work; depth is bounded by the interpreter's own recursion limit, caught here.
"""

from __future__ import annotations

import ast
import threading

MAX_MESSAGE = 200  # a SyntaxError's msg is the parser's words, but keep it a line
# CPython 3.11's AST constructor keeps one recursion counter per interpreter: two threads building
# trees at once (grade-batch --jobs, the web worker beside a request) can leave it unbalanced, and
# every later parse then raises SystemError. One parse at a time; they take milliseconds.
_PARSING = threading.Lock()


class UnparsableSource(ValueError):
    """The source cannot be parsed; str() is one line, quoting none of the source."""


def parse_source(source: str, filename: str = "submission.py") -> ast.Module:
    try:
        with _PARSING:
            try:
                return ast.parse(source, filename=filename)
            except SystemError:
                # Once more: with parses serialised, a counter left unbalanced is reset by now. A
                # SystemError that persists comes from the source itself and is the source's, like
                # any other parse failure below: a candidate can never make the grader report `error`.
                return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        msg = " ".join(str(exc.msg).split())[:MAX_MESSAGE]
        if exc.lineno is None:  # Python 3.12 reports a null byte this way, with no position
            raise UnparsableSource(f"syntax error: {msg}") from None
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise UnparsableSource(f"syntax error at {where}: {msg}") from None
    except RecursionError:
        raise UnparsableSource("the source nests too deeply to parse (an expression thousands of terms "
                               "long?)") from None
    except MemoryError:
        raise UnparsableSource("the source nests too deeply to parse (the parser ran out of memory)") from None
    except ValueError as exc:
        why = "it holds a null byte" if "null" in str(exc) else type(exc).__name__
        raise UnparsableSource(f"cannot parse the source: {why}") from None
    except Exception as exc:  # noqa: BLE001 - TypeError, OverflowError...: still the source's doing
        raise UnparsableSource(f"cannot parse the source ({type(exc).__name__})") from None
