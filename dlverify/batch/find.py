"""Finding the submissions of a hand-in: files, candidates' folders, and the folders passed over."""

from __future__ import annotations

import os
from pathlib import Path

from .model import SOLUTION_NAMES, SUFFIXES, BatchError, Entry, Skipped
from .store import result_name


def _hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__"


def _from_folder(folder: Path) -> tuple[Path | None, str]:
    """The submission inside one candidate's folder, or the reason there is none."""
    named = [folder / n for n in SOLUTION_NAMES if (folder / n).is_file()]
    if len(named) == 2:
        return None, "holds both solution.py and solution.ipynb"
    if named:
        return named[0], ""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES and not _hidden(p))
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "holds no .py or .ipynb file"
    return None, f"holds {len(found)} .py/.ipynb files and no solution.py to choose"


def _escapes(folder: Path, within: Path) -> bool:
    """A folder that is a link leading out of the folder that holds it: never followed.

    A candidate's folder linked to `graders/<id>/` would otherwise hand in the
    reference; files are checked the same way when they are read (submission.py).
    """
    real, base = os.path.realpath(folder), os.path.realpath(within)
    return not (real == base or real.startswith(base.rstrip(os.sep) + os.sep))


LINK_OUT = "a link out of its folder, not followed"


def _is_out(path: Path, out: Path | None) -> bool:
    """The batch's own output folder (or its results/), found inside a hand-in folder."""
    if out is None:
        return False
    here = path.resolve()
    return here in (out.resolve(), (out / "results").resolve())


def hand_in_folder(targets: list[Path]) -> Path | None:
    """The folder the targets were handed in from: a folder of submissions itself, or the one that
    holds a submission file or a candidate's folder named one by one (`hand-in/*`)."""
    bases = []
    for target in targets:
        direct = target.is_file() or any((target / name).is_file() for name in SOLUTION_NAMES)
        bases.append(os.path.abspath(target.parent if direct else target))
    try:
        return Path(os.path.commonpath(bases)) if bases else None
    except ValueError:  # on different drives
        return None


def find_submissions(targets: list[Path], out: Path | None = None) -> tuple[list[Entry], list[Skipped]]:
    """Entries named by file stem or folder name, and notes on folders passed over.

    A target is a submission file, one candidate's folder (it holds a
    solution.py or solution.ipynb), or a folder of submissions: each
    `.py`/`.ipynb` directly inside is one, each sub-folder is one candidate's
    (its solution.py or solution.ipynb, or its only .py/.ipynb file).
    `out`, the batch's output folder, is left out when a target holds it.
    A folder that is a link leading out of the folder holding it (`hand-in/*`
    expanded over a candidate's link to `graders/`) is passed over, and so is
    every candidate whose name another shares: each a row, never the end of
    the batch.
    """
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    for target in targets:
        try:
            if not target.exists():
                raise BatchError(f"{target}: no such file or folder")
            if target.is_dir() and _escapes(target, target.parent):
                skipped.append(Skipped(target, LINK_OUT + " (name the folder it leads to instead)"))
                continue
            if target.is_file():
                if target.suffix not in SUFFIXES:
                    raise BatchError(f"{target}: expected a .py or .ipynb file, or a folder of them")
                entries.append(Entry(target.stem, target))
                continue
            if any((target / name).is_file() for name in SOLUTION_NAMES):
                # One candidate's folder named directly (`grade-batch ex hand-in/*`): that candidate.
                found, why = _from_folder(target)
                if found is None:
                    skipped.append(Skipped(target, why))
                else:
                    entries.append(Entry(target.name, found))
                continue
            children = sorted(target.iterdir())
        except OSError as exc:  # a folder this user may not list
            raise BatchError(f"{target}: cannot be read ({exc.strerror or exc})") from None
        for child in children:
            if _hidden(child) or _is_out(child, out):
                continue
            try:
                if child.is_dir() and _escapes(child, target):
                    skipped.append(Skipped(child, LINK_OUT))
                elif child.is_dir():
                    found, why = _from_folder(child)
                    if found is None:
                        skipped.append(Skipped(child, why))
                    else:
                        entries.append(Entry(child.name, found))
                elif child.suffix in SUFFIXES:
                    # A file, or a link to nothing: the latter becomes an `unreadable` row,
                    # so a candidate never drops out of the summary in silence.
                    entries.append(Entry(child.stem, child))
            except OSError as exc:
                skipped.append(Skipped(child, f"cannot be read ({exc.strerror or exc})"))
    unique, clashes = _without_clashes(entries)
    skipped += clashes
    if not unique and not clashes:
        where = ", ".join(str(t) for t in targets)
        raise BatchError(f"no .py or .ipynb submissions found in {where}")
    return unique, skipped


def _without_clashes(entries: list[Entry]) -> tuple[list[Entry], list[Skipped]]:
    """Entries with a name (or result file) of their own, and a row for each that shares one.

    `BOB.py` beside `bob/` refused the whole batch. Which one is the candidate's
    is not ours to guess, so neither is graded: each is a row saying so.
    """
    by_path: dict[str, Entry] = {}
    for entry in entries:
        # One file named twice (a folder and a file inside it): one submission.
        by_path.setdefault(os.path.normpath(entry.path), entry)
    groups: dict[str, list[Entry]] = {}
    for entry in by_path.values():
        # Distinct names must never share a result file, on a case-insensitive disk either.
        groups.setdefault(result_name(entry.name).casefold(), []).append(entry)
    unique: list[Entry] = []
    clashes: list[Skipped] = []
    for group in groups.values():
        if len(group) == 1:
            unique.append(group[0])
            continue
        for entry in group:
            others = ", ".join(str(e.path) for e in group if e is not entry)
            clashes.append(Skipped(entry.path, f"shares its name or result file with {others}: rename one",
                                   name=entry.name))
    return unique, clashes
