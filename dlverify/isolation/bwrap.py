"""The bubblewrap command line: what the sandbox can see, and where it can write.

- A fresh root that is read-only once set up (`--remount-ro /`), so the only
  writable places are the size-capped tmpfs at /tmp (the scratch; /var/tmp
  points there) and a small tmpfs at /dev/shm.
- Read-only binds of an allow-list, never `/`: the system's libraries, the
  interpreter, the sandbox code and the job folder.
- Every site-packages folder replaced by an empty tmpfs with only the
  distributions the exercise's framework needs bound back (a numpy-only
  exercise has no torch to import, by any route).
- All namespaces new (user, pid, net, ipc, uts, mount, cgroup), no further user
  namespaces, no capabilities, uid 65534, an empty environment but for the
  child's own, its own session, and death with its parent.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from ..packs.manifest import Limits
from .privileges import SANDBOX_UID

SYSTEM_READ = [Path(p) for p in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
                                  "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                                  "/etc/localtime", "/etc/alternatives")]
SHM_MB = 16
# Host folders under /tmp (the job folder) are bound here instead, with the host
# path kept beneath: inside the sandbox /tmp is the candidate's scratch, and a
# folder bound inside it would be inside the worker's writable allow-list too.
RELOCATED = "/run/dlverify"
PATH_MAP_ENV = "DLVERIFY_PATH_PREFIX"


def sandbox_path(path: str | Path) -> str:
    """Where a host path is seen inside the sandbox."""
    text = str(path)
    return RELOCATED + text if text == "/tmp" or text.startswith("/tmp/") else text


def python_roots() -> list[Path]:
    """The interpreter and its libraries: everything the child needs to start Python."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(roots)


@functools.lru_cache(maxsize=4)
def _supports(bwrap: str, option: str) -> bool:
    try:
        help_text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return option in help_text


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_argv(bwrap: str, *, limits: Limits, readable: list[Path], site_keep: dict[str, list[str]],
               env: dict[str, str], passwd: Path, device: str, seccomp_fd: int | None, status_fd: int) -> list[str]:
    argv = [bwrap, "--json-status-fd", str(status_fd), "--unshare-all", "--unshare-user",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    if _supports(bwrap, "--disable-userns"):
        argv.append("--disable-userns")  # no nested user namespace (seccomp refuses it too)
    argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.scratch_mb << 20), "--tmpfs", "/tmp",
             "--size", str(min(SHM_MB, limits.scratch_mb) << 20), "--tmpfs", "/dev/shm",
             "--symlink", "/tmp", "/var/tmp"]
    for path in SYSTEM_READ:
        argv += ["--ro-bind-try", str(path), str(path)]
    roots = [str(p) for p in python_roots()]
    for root in roots:
        argv += ["--ro-bind", root, root]

    # Site folders: an empty tmpfs each, then only the kept distributions bound back.
    bound = [str(p) for p in SYSTEM_READ] + roots
    hidden = [d for d in sorted(site_keep) if _under(d, bound) and os.path.isdir(d)]
    for folder in hidden:
        argv += ["--tmpfs", folder]
        for name in site_keep[folder]:
            argv += ["--ro-bind", os.path.join(folder, name), os.path.join(folder, name)]
    # The sandbox code and the job folder after the tmpfs, in case they live in a site folder.
    for path in readable:
        argv += ["--ro-bind", str(path), sandbox_path(path)]
    for folder in hidden:
        argv += ["--remount-ro", folder]

    argv += ["--ro-bind", str(passwd), "/etc/passwd"]
    if device == "cuda":
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind-try", str(dev), str(dev)]
        # The CUDA driver and NVML read the GPU's PCI and NUMA state there (read-only).
        argv += ["--ro-bind-try", "/sys", "/sys"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--setenv", PATH_MAP_ENV, RELOCATED]
    return argv
