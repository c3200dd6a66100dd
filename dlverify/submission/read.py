"""Reading a submission as text (a .py file, or the code cells of a notebook).

The host only reads and parses it: it never imports or executes it. Parsing
with `ast` runs no candidate code.

The file is the candidate's, and so is where it points: a link to the graders'
reference or to `/etc/shadow` must not be read, a `/proc` file that says it is
empty must not be read without end, and no message may quote what the file
holds. So a submission is read once, as bytes: never through a link that leads
out of its folder, at most MAX_SOURCE_BYTES of it whatever `stat` says; those
same bytes are hashed and parsed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .notebook_lines import CELL_HEADER
from .parsing import UnparsableSource, parse_source

MAX_SOURCE_BYTES = 1 << 20  # a 1 MiB source file is already far past any honest solution


class SubmissionError(ValueError):
    """The submission cannot be read at all (a usage error: exit code 2; a batch's `unreadable` row)."""


@dataclass(frozen=True)
class Submission:
    path: Path
    source: str
    sha256: str
    kind: str  # "py" | "ipynb"


class _Unreadable(Exception):
    """Why the bytes are no submission; read_submission() puts the path in front."""


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _read_bytes(path: Path, root: Path) -> bytes:
    """At most MAX_SOURCE_BYTES of a regular file under `root`, links followed only within it."""
    if not os.path.lexists(path):
        raise _Unreadable("no such file")
    if not _inside(path, root):
        # Where it leads is not said: that is a host path, and none of the candidate's business.
        raise _Unreadable("a link out of its folder, not followed")
    try:
        # The link was resolved above; O_NOFOLLOW refuses one swapped in since. O_NONBLOCK: a FIFO
        # must not hang the grader on open (it is then refused as not a file).
        fd = os.open(os.path.realpath(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("not a file")
        if (info.st_dev, info.st_ino) in _grader_files() and not _in_grader_folders(path):
            # A hard link (or a bind) to the grader's own code: the same file by another name (the
            # operator naming graders/<id>/reference.py itself is `validate`'s business, not this).
            # Said without naming which file: the grader's layout is none of the candidate's business.
            raise _Unreadable("one of the grader's own files under another name, not read")
        # st_size is not trusted: /proc files say 0 whatever they hold. Read one byte past the cap.
        chunks, size = [], 0
        while size <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, MAX_SOURCE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:  # /proc/self/pagemap and the like
        raise _Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    if size > MAX_SOURCE_BYTES:
        raise _Unreadable(f"larger than {_size(MAX_SOURCE_BYTES)}")
    return b"".join(chunks)


def _grader_folders() -> tuple[Path, ...]:
    from .. import paths

    return paths.graders_dir(), paths.kernels_dir(), paths.sandbox_dir()


def _in_grader_folders(path: Path) -> bool:
    return any(_inside(path, folder) for folder in _grader_folders())


@functools.lru_cache(maxsize=1)
def _grader_files() -> frozenset[tuple[int, int]]:
    """(device, inode) of every file of the graders, the reference kernels and the sandbox code."""
    found = set()
    for folder in _grader_folders():
        for path in folder.rglob("*"):
            try:
                info = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.add((info.st_dev, info.st_ino))
    return frozenset(found)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is no code
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text") from None


def _cells(data: object) -> list[tuple[dict, str]]:
    """(cell, the key of its source) for every cell of a format 4 or format 3 notebook."""
    if not isinstance(data, dict):
        raise _Unreadable("not a readable notebook (not a JSON object)")
    version = data.get("nbformat")
    if version == 4 and isinstance(data.get("cells"), list):
        return [(cell, "source") for cell in data["cells"]]
    if version == 3 and isinstance(data.get("worksheets"), list):
        sheets = data["worksheets"]
        if all(isinstance(s, dict) and isinstance(s.get("cells"), list) for s in sheets):
            return [(cell, "input") for s in sheets for cell in s["cells"]]
    if version in (3, 4):
        raise _Unreadable(f"not a readable notebook (format {version} without its list of cells)")
    shown = f"format {version}" if isinstance(version, int) and not isinstance(version, bool) else "no format number"
    raise _Unreadable(f"not a readable notebook ({shown}; dlverify reads formats 3 and 4)")


def notebook_source(raw: bytes) -> str:
    """The notebook's code cells, in order, joined; IPython magics and shell lines are dropped.

    Markdown and raw cells do not count. A code cell whose first line is
    `# dlverify: skip` is left out (scratch work the candidate does not submit).
    Read as JSON here, not by nbformat: its messages quote the file ("Notebook
    does not appear to be JSON: '...'"), its validator logs a bad cell's content,
    and it lets a cell whose source is null through to crash the grader.
    """
    try:
        data = json.loads(_text(raw))
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"not a readable notebook (not JSON: line {exc.lineno}, column {exc.colno})") from None
    except (RecursionError, MemoryError):
        raise _Unreadable("not a readable notebook (nested too deeply)") from None
    parts, code_cells = [], 0
    for index, (cell, key) in enumerate(_cells(data)):
        if not isinstance(cell, dict):
            raise _Unreadable(f"not a readable notebook (cell {index} is not an object)")
        if not isinstance(cell.get("cell_type"), str):
            raise _Unreadable(f"not a readable notebook (cell {index} has no type)")
        if cell["cell_type"] != "code":
            continue
        source = cell.get(key, "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)  # the file splits a cell's source into lines
        if not isinstance(source, str):
            raise _Unreadable(f"not a readable notebook (cell {index}: its source is not text)")
        code_cells += 1
        lines = source.splitlines()
        if lines and lines[0].strip().lower() == "# dlverify: skip":
            continue
        # A dropped line leaves a blank one: every line keeps its number within the cell, so an error
        # can name the cell and the line the candidate sees (notebook_lines.py).
        kept = ["" if line.lstrip().startswith(("%", "!")) else line for line in lines]
        parts.append(CELL_HEADER.format(n=code_cells) + "\n" + "\n".join(kept))
    return "\n\n".join(parts) + "\n"


def read_submission(path: Path, root: Path | None = None) -> Submission:
    """The submission at `path`, read once. Links are followed only within `root` (by default the
    folder that holds `path`): a batch passes the hand-in folder it found the file in."""
    path = Path(path)
    root = Path(root) if root is not None else Path(os.path.abspath(path)).parent
    try:
        if path.suffix not in (".py", ".ipynb"):
            raise _Unreadable("expected a .py or .ipynb file")
        raw = _read_bytes(path, root)
        if path.suffix == ".ipynb":
            source, kind = notebook_source(raw), "ipynb"
        else:
            source, kind = _text(raw), "py"
    except _Unreadable as exc:
        raise SubmissionError(f"{path}: {exc}") from None
    return Submission(path, source, hashlib.sha256(raw).hexdigest(), kind)


def submission_bytes(path: Path, root: Path | None = None) -> bytes:
    """The file's bytes, read as read_submission() reads them (a Ray driver sends these on)."""
    path = Path(path)
    try:
        return _read_bytes(path, Path(root) if root is not None else Path(os.path.abspath(path)).parent)
    except _Unreadable as exc:
        raise SubmissionError(f"{path}: {exc}") from None


def syntax_error(source: str, filename: str = "submission.py") -> str | None:
    """A one-line description of why the source does not parse (syntax, depth, null bytes), or None."""
    try:
        parse_source(source, filename)
    except UnparsableSource as exc:
        return str(exc)
    return None
