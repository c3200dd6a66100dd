"""A cgroup per run: memory and process limits, CPU accounting, and a kill of everything.

cgroup v2 where the unified hierarchy has the memory controller; the v1
memory, pids and cpuacct controllers otherwise (this kind of machine has only
v1 for them). The OOM-kill counter is what tells a memory kill apart from any
other SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


class CgroupUnavailable(OSError):
    pass


def _write(path: Path, value: str) -> None:
    path.write_text(value)


@dataclass
class RunCgroup:
    memory_bytes: int
    max_pids: int
    version: int = 0
    dirs: dict[str, Path] = field(default_factory=dict)   # controller -> folder

    @classmethod
    def create(cls, memory_bytes: int, max_pids: int, root: Path = ROOT) -> "RunCgroup":
        group = cls(memory_bytes, max_pids)
        name = f"dlverify-{uuid.uuid4().hex[:12]}"
        unified = root / "cgroup.controllers"
        try:
            if unified.exists() and "memory" in unified.read_text().split():
                group.version = 2
                folder = root / name
                folder.mkdir()
                group.dirs["unified"] = folder
                _write(folder / "memory.max", str(memory_bytes))
                _write(folder / "memory.swap.max", "0") if (folder / "memory.swap.max").exists() else None
                _write(folder / "pids.max", str(max_pids))
            else:
                group.version = 1
                for controller in ("memory", "pids", "cpuacct"):
                    base = root / controller
                    if not base.is_dir():
                        raise CgroupUnavailable(f"no v1 {controller} controller at {base}")
                    folder = base / name
                    folder.mkdir()
                    group.dirs[controller] = folder
                _write(group.dirs["memory"] / "memory.limit_in_bytes", str(memory_bytes))
                swap = group.dirs["memory"] / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    _write(swap, str(memory_bytes))
                _write(group.dirs["pids"] / "pids.max", str(max_pids))
        except OSError as exc:
            group.remove()
            raise CgroupUnavailable(str(exc)) from None
        return group

    @property
    def describe(self) -> str:
        return f"cgroup v{self.version}: memory {self.memory_bytes >> 20} MiB, {self.max_pids} processes"

    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs.values()]

    def join_self(self) -> None:
        """Called in the child between fork and exec: everything it starts stays inside."""
        pid = str(os.getpid())
        for procs in self.procs_files():
            with open(procs, "w") as f:
                f.write(pid)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            try:
                found |= {int(p) for p in procs.read_text().split()}
            except OSError:
                pass
        return found

    def oom_kills(self) -> int:
        if self.version == 2:
            events = self.dirs["unified"] / "memory.events"
            key = "oom_kill"
        else:
            events = self.dirs["memory"] / "memory.oom_control"
            key = "oom_kill"
        try:
            for line in events.read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
        except OSError:
            pass
        return 0

    def memory_limit_hit(self) -> bool:
        """v1's failcnt counts allocations refused at the limit, even when no kill followed."""
        if self.version == 1:
            try:
                return int((self.dirs["memory"] / "memory.failcnt").read_text()) > 0
            except OSError:
                return False
        return self.oom_kills() > 0

    def peak_memory_bytes(self) -> int | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        folder = self.dirs.get("unified") or self.dirs.get("memory")
        try:
            return int((folder / name).read_text())
        except (OSError, ValueError, TypeError):
            return None

    def cpu_seconds(self) -> float | None:
        try:
            if self.version == 2:
                for line in (self.dirs["unified"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
                return None
            return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def kill_all(self, timeout: float = 5.0) -> int:
        """SIGKILL every process in the group until it is empty; returns how many were left."""
        if self.version == 2 and (self.dirs["unified"] / "cgroup.kill").exists():
            try:
                _write(self.dirs["unified"] / "cgroup.kill", "1")
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return 0
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                return len(pids)
            time.sleep(0.01)

    def remove(self) -> None:
        for folder in self.dirs.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
