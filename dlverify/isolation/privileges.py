"""Run as root, sandbox as nobody: the child never holds the host's root user id.

A process that is uid 0 on the host keeps the owner's rights over every
root-owned file even with no capabilities at all (it could write host sysctls
under /proc/sys, chmod root's files): bubblewrap's `--uid 65534` only renames
it inside its own user namespace. So when the grader runs as root, the forked
child joins its cgroup, then becomes uid/gid 65534 for real before it starts
bubblewrap (or Python, without bubblewrap); bubblewrap then runs unprivileged.

An unprivileged process cannot reach an interpreter installed under a folder
only root may enter (pyenv under /root, mode 0700). For those folders the
child first enters a private mount namespace and lays a read-only tmpfs over
the closed folder with just the needed paths bound back, visible to that
child alone. Everything here runs between fork and exec, with the ctypes
calls prepared in the parent beforehand.
"""

from __future__ import annotations

import ctypes
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 65534  # nobody
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18


def running_as_root() -> bool:
    return os.geteuid() == 0


def _closed_ancestor(path: str) -> str | None:
    """The outermost folder above `path` that others may not enter, if any."""
    parts = Path(path).parts
    for i in range(1, len(parts)):
        folder = os.path.join(*parts[:i]) if i > 1 else "/"
        try:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return folder
        except OSError:
            return None
    return None


@dataclass
class Drop:
    """What the child does as root before it stops being root."""

    reopen: dict[str, list[str]] = field(default_factory=dict)  # closed folder -> paths to bind back
    _libc: ctypes.CDLL | None = field(default=None, repr=False)

    @classmethod
    def plan(cls, needed: list[Path]) -> "Drop":
        drop = cls()
        for path in needed:
            real = os.path.realpath(path)
            closed = _closed_ancestor(real)
            if closed:
                drop.reopen.setdefault(closed, []).append(real)
        for closed, paths in drop.reopen.items():
            kept: list[str] = []
            for path in sorted(set(paths), key=len):  # a path inside one already bound comes with it
                if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
                    kept.append(path)
            drop.reopen[closed] = kept
        drop._libc = ctypes.CDLL(None, use_errno=True)
        drop._libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                     ctypes.c_char_p]
        return drop

    @property
    def describe(self) -> str:
        text = f"uid and gid {SANDBOX_UID} on the host too (the root grader drops them before the sandbox starts)"
        if self.reopen:
            text += f"; {', '.join(self.reopen)} made passable in a private mount namespace"
        return text

    def _call(self, result: int, what: str) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def reopen_folders(self) -> None:
        if not self.reopen:
            return
        libc = self._libc
        self._call(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        self._call(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
        for folder, paths in self.reopen.items():
            # fds opened in this namespace (a bind source must belong to it), before the tmpfs hides them
            held = [(p, os.open(p, os.O_PATH | os.O_CLOEXEC)) for p in paths]
            self._call(libc.mount(b"tmpfs", folder.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                                  b"mode=0755,size=64k"), f"tmpfs over {folder}")
            for path, fd in held:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    os.makedirs(path, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "a").close()
                self._call(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND | _MS_REC,
                                      None), f"bind {path}")
                os.close(fd)
            self._call(libc.mount(None, folder.encode(), None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV,
                                  None), f"read-only {folder}")

    def become_nobody(self) -> None:
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
