"""Where the packs live: beside the package in a checkout, inside it in a wheel.

`exercises/`, `graders/`, `kernels/` and `sandbox/` are loaded by path, never
imported by name, so that none of them becomes a top-level import name.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_FOLDERS = ("exercises", "graders", "kernels", "sandbox")


def data_root() -> Path:
    """The folder holding exercises/, graders/, kernels/ and sandbox/.

    DLVERIFY_DATA overrides it (pack authors working on a copy); a wheel
    carries the folders under dlverify/_data; a checkout has them one up.
    """
    override = os.environ.get("DLVERIFY_DATA")
    candidates = [Path(override)] if override else []
    candidates += [_PACKAGE / "_data", _PACKAGE.parent]
    for root in candidates:
        if all((root / name).is_dir() for name in _FOLDERS):
            return root
    raise FileNotFoundError(
        "cannot find the exercise packs (looked in "
        + ", ".join(str(c) for c in candidates) + ")"
    )


def exercises_dir() -> Path:
    return data_root() / "exercises"


def graders_dir() -> Path:
    return data_root() / "graders"


def kernels_dir() -> Path:
    return data_root() / "kernels"


def sandbox_dir() -> Path:
    return data_root() / "sandbox"
