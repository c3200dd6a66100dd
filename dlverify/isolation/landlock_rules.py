"""Landlock: a filesystem allow-list that needs no root, for when bubblewrap is missing.

Applied in the child between fork and exec: read-only access to the
interpreter and its libraries, read-write to the scratch folder only.
"""

from __future__ import annotations

import os
from pathlib import Path


def available() -> str | None:
    """None when Landlock can be used, else why not."""
    try:
        from landlock.plumbing import landlock_abi_version

        version = landlock_abi_version()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"Landlock unavailable: {exc}"
    return None if version >= 1 else "Landlock unavailable: ABI version 0"


def apply(read_paths: list[Path], write_paths: list[Path]) -> None:
    from landlock import FSAccess, Ruleset

    rules = Ruleset()
    read = FSAccess.EXECUTE | FSAccess.READ_FILE | FSAccess.READ_DIR
    for path in read_paths:
        if os.path.exists(path):
            rules.allow(str(path), rules=read & (FSAccess.all() if path.is_dir() else FSAccess.all_file()))
    for path in write_paths:
        rules.allow(str(path))
    rules.apply()
