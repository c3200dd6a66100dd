"""Landlock through its three system calls (ctypes, no dependency): a path allow-list without root.

Used twice: by the host for the whole sandbox when bubblewrap is missing, and
by the child for the worker process that runs candidate code (never the job
folder, never /proc of another process). A Landlock domain only ever narrows:
a process cannot lift it, and everything it starts inherits it.

Besides files, newer kernels let a domain refuse TCP (ABI 4) and keep signals
and abstract unix sockets inside the domain (ABI 6): a confined process then
cannot kill, or talk to, a process outside its own domain.
"""

from __future__ import annotations

import ctypes
import os
import stat

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on every arch
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15          # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1                  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1       # ABI 6

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only ones a file (not a folder) takes
READ = EXECUTE | READ_FILE | READ_DIR


class LandlockUnavailable(OSError):
    pass


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockUnavailable(err, f"landlock {what}: {os.strerror(err)}")
    return result


def abi_version() -> int:
    """0 when the kernel has no Landlock (or it is disabled)."""
    result = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(result))


def confine(read: list[str], write: list[str], *, devices: list[str] = (), rewrite: list[str] = (),
            deny_tcp: bool = True, scope: bool = True) -> str:
    """Restrict this process (and all it starts) to reading `read` and reading/writing `write`.

    `devices` are files that may be read, written and ioctl'd (GPU device nodes).
    `rewrite` are files (or folders, for the files beneath) that may be opened for
    writing as they are (fopen's "w" truncates): nothing created, removed or renamed there.
    Paths that do not exist are skipped. Returns a one-line description of what
    was enforced; raises LandlockUnavailable when the kernel cannot do it.
    """
    abi = abi_version()
    if abi < 1:
        raise LandlockUnavailable("Landlock is not supported or not enabled in this kernel")
    handled = _FS_BY_ABI.get(abi, _FS_BY_ABI[5])
    attr = _RulesetAttr(handled_access_fs=handled)
    if deny_tcp and abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # handled, and no port ever allowed
    if scope and abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    ruleset = _check(_libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                   ctypes.c_uint32(0)), "create_ruleset")
    try:
        for paths, rights in ((read, READ), (write, handled), (devices, READ_FILE | WRITE_FILE | IOCTL_DEV),
                              (rewrite, READ_FILE | WRITE_FILE | TRUNCATE)):
            for path in paths:
                _allow(ruleset, path, rights & handled)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            _check(-1, "no_new_privs")
        _check(_libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    parts = [f"Landlock ABI {abi}: files limited to an allow-list"]
    if attr.handled_access_net:
        parts.append("no TCP")
    if attr.scoped:
        parts.append("signals and abstract sockets kept inside")
    return ", ".join(parts)


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not there: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        _check(_libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0)), f"add_rule {path}")
    finally:
        os.close(fd)
