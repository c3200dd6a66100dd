"""`dlverify assess --submissions FOLDER`: one file per exercise, named after its id."""

from __future__ import annotations

from pathlib import Path

SUBMISSION_SUFFIXES = (".py", ".ipynb")  # what read_submission accepts (cuda_matmul is a .py with CUDA_SRC)


class SubmissionsError(ValueError):
    """The folder does not hold one clear submission per exercise; str() is one line."""


def find_submissions(folder: Path, known: tuple[str, ...]) -> tuple[dict[str, Path], list[str]]:
    if not folder.is_dir():
        raise SubmissionsError(f"--submissions {folder}: no such folder")
    found: dict[str, Path] = {}
    ignored: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.stem in known and path.suffix in SUBMISSION_SUFFIXES:
            if path.stem in found:
                raise SubmissionsError(f"--submissions {folder}: two submissions for {path.stem}: "
                            f"{found[path.stem].name} and {path.name}")
            found[path.stem] = path
        else:
            ignored.append(path.name)
    if not found:
        raise SubmissionsError(f"--submissions {folder}: no file named after an exercise id ({', '.join(known)}), "
                    f"with suffix {'/'.join(SUBMISSION_SUFFIXES)}")
    return found, ignored
