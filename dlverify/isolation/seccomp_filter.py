"""A seccomp filter for the child: no network sockets, no ptrace, no new namespaces, no mounts.

AF_UNIX sockets stay (Python and torch use socketpairs internally); every other
address family fails with EPERM, loopback included. Calls that would let the
child look into or escape from other processes fail too (ptrace and its
relatives, pidfd_getfd, the mount API, io_uring, which could do all of this
without the calls this filter sees).
"""

from __future__ import annotations

import errno
import socket
import tempfile

DENIED_CALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at",
    "pidfd_getfd", "process_madvise", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "quotactl", "syslog", "vhangup", "lookup_dcookie", "uselib", "nfsservctl",
)
NAMESPACE_FLAGS = 0x10000000 | 0x20000000 | 0x40000000 | 0x04000000 | 0x08000000 | 0x00020000 | 0x02000000
# CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWCGROUP


def build_filter():
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for call in DENIED_CALLS:
        try:
            f.add_rule(deny, call)
        except (OSError, ValueError, RuntimeError):
            pass  # a call this kernel or arch does not know
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
        f.add_rule(deny, "socket", sc.Arg(0, sc.EQ, family))
    # Anything that is not AF_UNIX, including families not named above.
    f.add_rule(deny, "socket", sc.Arg(0, sc.GT, socket.AF_UNIX))
    f.add_rule(deny, "socket", sc.Arg(0, sc.LT, socket.AF_UNIX))
    for flag in (0x10000000, 0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x00020000, 0x02000000):
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory that seccomp cannot read: refuse it so
    # that libc falls back to clone, which the rule above does check.
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    return f


def export_bpf_file():
    """The compiled filter in a temp file, for `bwrap --seccomp FD`."""
    handle = tempfile.TemporaryFile()
    build_filter().export_bpf(handle)
    handle.seek(0)
    return handle
