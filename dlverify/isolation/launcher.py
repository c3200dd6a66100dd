"""Start the sandbox child under every isolation layer this machine has, and gather evidence.

Layers, outermost first: a cgroup (memory, processes, CPU accounting, kill of
everything), the host uid dropped to 65534 when the grader runs as root,
bubblewrap (namespaces, a read-only allow-list of paths, a size-capped tmpfs
as the only writable place, no capabilities), rlimits, seccomp, and inside
the child a worker process with its own Landlock domain for the candidate's
code. Without bubblewrap, Landlock draws the filesystem allow-list for the
whole sandbox. A layer that cannot be had is recorded as missing; the run
never silently goes unsandboxed: with neither bubblewrap nor Landlock nor
seccomp the launch is refused.

The wall-clock deadline is the host's: at it, every process the run started
is killed with SIGKILL (which no process can ignore), through the cgroup and
bubblewrap's pid namespace, and the grader goes on.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..launch.channel import FrameReader, StreamTail
from ..packs.manifest import Limits
from ..report.result import Layer
from . import landlock_rules, rlimits
from .bwrap import SANDBOX_UID, SYSTEM_READ, bwrap_argv, python_roots, sandbox_path
from .cgroup import CgroupUnavailable, RunCgroup

# A library in the host process that runs threads (JAX, for jax_train_step's answer) warns at
# every fork that a child may deadlock on its locks. The sandbox is started by subprocess's
# fork_exec, whose child runs no Python and execs at once: it never takes such a lock.
warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning, module="subprocess")
from .privileges import Drop, running_as_root
from .seccomp_filter import build_filter, export_bpf_file

__all__ = ["LaunchSpec", "RunEvidence", "SandboxUnavailable", "launch", "python_roots", "SANDBOX_UID", "SYSTEM_READ"]

KILL_GRACE_SECONDS = 5.0


class SandboxUnavailable(RuntimeError):
    """No isolation layer worth the name could be set up: the grader's fault, not the candidate's."""


@dataclass
class LaunchSpec:
    child_script: Path
    argv: list[str]                 # arguments after the script
    readable: list[Path]            # host paths bound read-only, at the same path
    limits: Limits
    env: dict[str, str]
    deadline: float                 # time.monotonic() by which everything must be dead
    device: str = "cpu"
    framework: str | None = None    # which installed packages the sandbox may see; None: read it from the job
    on_frame: Callable[[dict], None] | None = None  # each frame's header as it arrives (progress only)


@dataclass
class RunEvidence:
    frames: list
    channel_problem: str
    returncode: int | None
    signal: int | None
    wall_seconds: float
    cpu_seconds: float | None
    oom_kills: int
    memory_limit_hit: bool
    peak_memory_bytes: int | None
    timed_out: bool
    left_running: int
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    layers: list[Layer] = field(default_factory=list)
    started: float | None = None    # time.monotonic() when the child was started (frames' clock)


def _high_fd(fd: int) -> int:
    """A copy of fd numbered 10 or above, clear of the low numbers the child's own files take."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


def _framework(spec: LaunchSpec) -> str:
    """The exercise's framework: given, or read from the job file the engine wrote (trusted)."""
    if spec.framework:
        return spec.framework
    try:
        return str(json.loads(Path(spec.argv[0]).read_text())["framework"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return "triton"  # the widest set: never hide what a child might need


@functools.lru_cache(maxsize=8)
def _site_keep(sandbox_dir: str, framework: str) -> dict[str, list[str]]:
    return landlock_rules.sandbox_module(Path(sandbox_dir), "allowlist").site_entries(framework)


def scratch_env(env: dict[str, str], scratch: Path) -> dict[str, str]:
    """The child's environment without bubblewrap: there /tmp is the host's and not writable, so
    HOME, TMPDIR and every cache folder under /tmp (Triton's, torch's extensions) move to scratch."""
    moved = {key: str(scratch) + value[len("/tmp"):]
             for key, value in env.items() if value == "/tmp" or value.startswith("/tmp/")}
    return {**env, **moved, "HOME": str(scratch), "TMPDIR": str(scratch)}


def launch(spec: LaunchSpec, *, use_bwrap: bool | None = None) -> RunEvidence:
    """Run the child to completion (or to the deadline) and return what was observed."""
    layers: list[Layer] = []
    bwrap = shutil.which("bwrap") if use_bwrap is not False else None
    if use_bwrap and not bwrap:
        raise SandboxUnavailable("bubblewrap (bwrap) was asked for but is not installed")
    sandbox_dir = spec.child_script.parent

    cgroup = None
    try:
        cgroup = RunCgroup.create(spec.limits.memory_mb << 20, spec.limits.processes)
        layers.append(Layer("cgroup", True, cgroup.describe))
    except CgroupUnavailable as exc:
        layers.append(Layer("cgroup", False, f"{exc}; memory falls back to RLIMIT_DATA, "
                                             "process kill to the process group"))

    seccomp_error = None
    try:
        build_filter()
    except Exception as exc:  # noqa: BLE001
        seccomp_error = f"seccomp unavailable: {exc}"
    landlock_error = landlock_rules.available(sandbox_dir)
    if not bwrap and landlock_error and seccomp_error:
        if cgroup:
            cgroup.remove()
        raise SandboxUnavailable(f"no filesystem or syscall isolation: bubblewrap missing; {landlock_error}; "
                                 f"{seccomp_error}")

    workdir = Path(tempfile.mkdtemp(prefix="dlverify-run-"))
    passwd = workdir / "passwd"
    passwd.write_text(f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:/tmp:/usr/sbin/nologin\n")
    os.chmod(workdir, 0o755)
    os.chmod(passwd, 0o644)
    scratch = workdir / "scratch"   # only used without bubblewrap
    scratch.mkdir(mode=0o700)

    drop = None
    if running_as_root():
        needed = python_roots() + list(spec.readable) + [workdir, Path(sys.executable)]
        drop = Drop.plan(needed)
        os.chown(scratch, SANDBOX_UID, SANDBOX_UID)

    channel_read, raw_write = os.pipe()
    channel_write = _high_fd(raw_write)
    os.close(raw_write)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    bpf_file = bpf_fd = None
    status_read = status_write = None
    python = sys.executable
    framework = _framework(spec)
    if bwrap:
        command = [python, "-I", "-B", "-u", sandbox_path(spec.child_script), *map(sandbox_path, spec.argv),
                   str(channel_write)]
    else:
        command = [python, "-I", "-B", "-u", str(spec.child_script), *spec.argv, str(channel_write)]
    site_keep = _site_keep(str(sandbox_dir), framework)
    if bwrap:
        if not seccomp_error:
            bpf_file = export_bpf_file()
            bpf_fd = _high_fd(bpf_file.fileno())
        status_read, raw_write = os.pipe()
        status_write = _high_fd(raw_write)
        os.close(raw_write)
        argv = bwrap_argv(bwrap, limits=spec.limits, readable=list(spec.readable), site_keep=site_keep,
                          env=spec.env, passwd=passwd, device=spec.device, seccomp_fd=bpf_fd,
                          status_fd=status_write) + command
        uid_note = drop.describe if drop else "uid 65534 inside its user namespace (the grader's own uid outside)"
        layers.append(Layer("bubblewrap", True, "namespaces (user, pid, net, ipc, uts, mount, cgroup), "
                            f"{uid_note}, no capabilities, read-only allow-list with only the {framework} "
                            f"packages, {spec.limits.scratch_mb} MiB tmpfs scratch as the only writable place"))
        layers.append(Layer("landlock", landlock_error is None, landlock_error or
                            "the worker that runs candidate code has its own domain: no job folder, "
                            "no other process's /proc, signals kept inside"))
        cwd = "/"
    else:
        argv = command
        layers.append(Layer("bubblewrap", False, "bwrap not installed: no namespaces; Landlock and seccomp "
                                                 "stand in for the filesystem and network"
                                                 + (f"; {drop.describe}" if drop else "")))
        layers.append(Layer("landlock", landlock_error is None, landlock_error or
                            "read-only allow-list, scratch folder writable, signals kept inside; "
                            "the worker narrower still (no job folder)"))
        cwd = str(scratch)
    layers.append(Layer("seccomp", seccomp_error is None,
                        seccomp_error or "no network sockets (loopback included), no ptrace, no namespaces, "
                                         "no mounts, no io_uring"))
    nproc = rlimits.nproc_limit(spec.limits, uid=SANDBOX_UID if drop else os.getuid(), has_cgroup=cgroup is not None)
    layers.append(Layer("rlimits", True, rlimits.describe(spec.limits, memory_fallback=cgroup is None, nproc=nproc)))

    pass_fds = [channel_write] + [fd for fd in (bpf_fd, status_write) if fd is not None]
    readable = [str(p) for p in python_roots() + list(spec.readable) + [p for p in SYSTEM_READ if p.exists()]]
    landlock = None if bwrap or landlock_error else landlock_rules.sandbox_module(sandbox_dir, "landlock")
    gpu_devices = [str(d) for d in sorted(Path("/dev").glob("nvidia*"))] if spec.device == "cuda" else []
    gpu_read = ["/sys"] if spec.device == "cuda" else []
    seccomp = None if bwrap or seccomp_error else build_filter()

    def before_exec() -> None:
        # Runs in the forked child, before exec: order matters.
        if cgroup:
            cgroup.join_self()            # as root: the cgroup files are root's
        if drop:
            drop.reopen_folders()         # as root: a private mount namespace
        rlimits.apply(spec.limits, memory_fallback=cgroup is None, nproc=nproc)
        if drop:
            drop.become_nobody()
        if landlock:
            # /proc for the worker's own entry (its Landlock narrows this to itself); never /dev/shm,
            # which without a mount namespace is the host's. On a GPU the driver's device nodes
            # (read, write, ioctl), /sys, and writes to existing /proc files (the driver names its
            # threads there; the worker's own domain narrows this to its own task folder, and its
            # pid is not known here), or CUDA cannot start; the worker inherits no more.
            landlock.confine(readable + ["/proc", "/dev/urandom", "/dev/random", "/dev/zero"] + gpu_read,
                             [str(scratch), "/dev/null", "/dev/full"], devices=gpu_devices,
                             rewrite=["/proc"] if spec.device == "cuda" else [])
        if seccomp:
            seccomp.load()

    env = dict(spec.env) if not bwrap else {"PATH": "/usr/bin:/bin"}
    if not bwrap:
        env = scratch_env(env, scratch)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_write, stderr=err_write,
                                pass_fds=pass_fds, env=env, cwd=cwd, start_new_session=True,
                                preexec_fn=before_exec, close_fds=True)
    except (OSError, subprocess.SubprocessError) as exc:
        for fd in (channel_read, channel_write, out_read, out_write, err_read, err_write, status_read, status_write):
            if fd is not None:
                os.close(fd)
        if cgroup:
            cgroup.remove()
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxUnavailable(f"could not start the sandbox: {exc}") from None
    finally:
        if bpf_file:
            bpf_file.close()
            os.close(bpf_fd)
    for fd in (channel_write, out_write, err_write, status_write):
        if fd is not None:
            os.close(fd)
    status_tail = StreamTail(status_read, 4096).start() if status_read is not None else None
    max_output = spec.limits.output_mb << 20
    reader = FrameReader(channel_read, max_output, on_frame=spec.on_frame).start()
    cap = spec.limits.log_kb << 10
    out_tail = StreamTail(out_read, cap).start()
    err_tail = StreamTail(err_read, cap).start()

    timed_out = wait_until_exit(proc, reader, spec.deadline)
    wall = time.monotonic() - started
    _kill_everything(proc, cgroup)
    left = cgroup.kill_all() if cgroup else 0
    reader.join(KILL_GRACE_SECONDS)
    out_tail.join(2)
    err_tail.join(2)
    if status_tail is not None:
        status_tail.join(2)
        if not status_tail.kept and not reader.frames:
            # bwrap never said the sandbox was up: its own setup failed, not the submission.
            if cgroup:
                cgroup.remove()
            shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxUnavailable("bubblewrap could not set up the sandbox: "
                                     + err_tail.text().strip()[-500:])

    _note_worker_confinement(layers, reader.frames, bool(bwrap))
    returncode, sig = _decode_status(proc.returncode, bool(bwrap))
    evidence = RunEvidence(
        frames=list(reader.frames), channel_problem=reader.problem,
        returncode=returncode, signal=sig, wall_seconds=wall,
        cpu_seconds=cgroup.cpu_seconds() if cgroup else None,
        oom_kills=cgroup.oom_kills() if cgroup else 0,
        memory_limit_hit=cgroup.memory_limit_hit() if cgroup else False,
        peak_memory_bytes=cgroup.peak_memory_bytes() if cgroup else None,
        timed_out=timed_out, left_running=left,
        stdout=out_tail.text(), stderr=err_tail.text(),
        stdout_bytes=out_tail.total, stderr_bytes=err_tail.total, layers=layers, started=started,
    )
    if cgroup:
        cgroup.remove()
    shutil.rmtree(workdir, ignore_errors=True)
    return evidence


def _note_worker_confinement(layers: list[Layer], frames: list, via_bwrap: bool) -> None:
    """The runner's "ready" frame says whether the worker's Landlock domain really took hold."""
    ready = next((f.header for f in frames if f.header.get("event") == "ready"), None)
    detail = str(ready.get("worker", "")) if ready else ""
    if not detail:
        return
    for i, layer in enumerate(layers):
        if layer.name == "landlock":
            confined = not detail.startswith("not confined")
            applied = confined if via_bwrap else layer.applied
            layers[i] = Layer("landlock", applied, f"{layer.detail}; worker: {detail}"[:400])


def wait_until_exit(proc: subprocess.Popen, reader: FrameReader, deadline: float) -> bool:
    """Wait for the process, the deadline, or a bad result stream; True when the deadline hit."""
    while True:
        remaining = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(0.0, min(remaining, 0.05)))
            return False
        except subprocess.TimeoutExpired:
            pass
        if reader.problem:
            return False  # an oversized or malformed stream: stop it now
        if remaining <= 0:
            return True


def _kill_everything(proc: subprocess.Popen, cgroup: RunCgroup | None) -> None:
    """Kill the child's session and cgroup; bwrap's --die-with-parent takes the pid namespace down."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroup:
        cgroup.kill_all()
    try:
        proc.wait(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _decode_status(code: int | None, via_bwrap: bool) -> tuple[int | None, int | None]:
    """(exit code, signal): bubblewrap reports a child's death by signal N as exit 128+N."""
    if code is None:
        return None, None
    if code < 0:
        return None, -code
    if via_bwrap and code > 128:
        return None, code - 128
    return code, None
