"""Landlock on the host side: is it here, and the sandbox's own implementation loaded by path.

One implementation (sandbox/landlock.py, plain ctypes) serves both sides: the
host applies it to the whole child between fork and exec when bubblewrap is
missing, and the child applies it again, narrower, to its worker process.
Likewise sandbox/allowlist.py decides which installed packages a sandbox may
see, for bubblewrap's binds here and for the worker's Landlock rules there.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType


@functools.lru_cache(maxsize=8)
def sandbox_module(sandbox_dir: Path, name: str) -> ModuleType:
    from ..packs.loading import load_module_from_path

    return load_module_from_path(f"_dlverify_sandbox_{name}", Path(sandbox_dir) / f"{name}.py")


def available(sandbox_dir: Path) -> str | None:
    """None when Landlock can be used, else why not."""
    try:
        version = sandbox_module(Path(sandbox_dir), "landlock").abi_version()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"Landlock unavailable: {exc}"
    return None if version >= 1 else "Landlock unavailable: this kernel does not enable it"
