"""Reading a submission as text (a .py file, or the code cells of a notebook).

The host only reads and parses it: it never imports or executes it. Parsing
with `ast` runs no candidate code.
"""

from __future__ import annotations

import ast
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE_BYTES = 1 << 20  # a 1 MiB source file is already far past any honest solution


class SubmissionError(ValueError):
    """The submission cannot be read at all (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Submission:
    path: Path
    source: str
    sha256: str
    kind: str  # "py" | "ipynb"


def notebook_source(path: Path) -> str:
    """The notebook's code cells, in order, joined; IPython magics and shell lines are dropped.

    Markdown and raw cells do not count. A code cell whose first line is
    `# dlverify: skip` is left out (scratch work the candidate does not submit).
    """
    import nbformat
    from nbformat.warnings import MissingIDFieldWarning

    # Notebooks written by older tools lack cell ids; nbformat warns on stderr for each one read,
    # which says nothing to the person grading. Set once, process-wide (safe beside threads,
    # unlike catch_warnings).
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise SubmissionError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    parts = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        if lines and lines[0].strip().lower() == "# dlverify: skip":
            continue
        kept = [line for line in lines if not line.lstrip().startswith(("%", "!"))]
        parts.append(f"# --- cell {index} ---\n" + "\n".join(kept))
    return "\n\n".join(parts) + "\n"


def read_submission(path: Path) -> Submission:
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file")
    if not path.is_file():
        raise SubmissionError(f"{path}: not a file")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path}: larger than {MAX_SOURCE_BYTES >> 20} MiB")
    raw = path.read_bytes()
    if path.suffix == ".ipynb":
        source, kind = notebook_source(path), "ipynb"
    elif path.suffix == ".py":
        try:
            source, kind = raw.decode("utf-8"), "py"
        except UnicodeDecodeError:
            raise SubmissionError(f"{path}: not UTF-8 text") from None
    else:
        raise SubmissionError(f"{path}: expected a .py or .ipynb file")
    return Submission(path, source, hashlib.sha256(raw).hexdigest(), kind)


def syntax_error(source: str, filename: str = "submission.py") -> str | None:
    """A one-line description of the first syntax error, or None."""
    try:
        ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return f"syntax error at {where}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        return f"cannot parse the source: {exc}"
    return None
