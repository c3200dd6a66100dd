"""The worker: the only process that ever runs candidate code.

The runner (child.py) forks it once the heavy libraries are imported. Before
any candidate code runs, the worker gives up what the runner keeps: the result
channel (closed), the job folder and every other input file (its Landlock
allow-list leaves them out), other processes (Landlock keeps its signals and
ptrace inside its own domain; the runner is not dumpable). Then it installs the
rule guards, loads the submission, and serves calls: the runner sends one
case's params and input bytes, the worker answers with output bytes or an
error. It never sees the job file, the other cases' inputs, or the channel to
the host, so nothing it does can speak for the runner.
"""

from __future__ import annotations

import ctypes
import linecache
import os
import signal
import sys
import time
import traceback
import types

from channel import Channel, read_frame


def _raw_bytes(value) -> bytes | None:
    """The exact bytes of an array or tensor (NaN-safe, any dtype), or None for anything else."""
    if hasattr(value, "tobytes") and hasattr(value, "dtype") and not hasattr(value, "untyped_storage"):
        return value.tobytes()  # numpy
    if hasattr(value, "untyped_storage"):
        flat = value.detach().cpu().contiguous().reshape(-1)
        return bytes(flat.view(__import__("torch").uint8).numpy()) if flat.numel() else b""
    return None


def mutated_inputs(used: dict, pristine: dict) -> str | None:
    """The name of the first input the candidate's call changed in place, if any.

    The host compares on its own copy, so a mutation cannot fool the grade; it is
    still a broken contract ("inputs are read-only"), and is reported as one."""
    for key, original in pristine.items():
        before, after = _raw_bytes(original), _raw_bytes(used.get(key))
        if before is not None and before != after:
            return key
    return None

TRACEBACK_CHARS = 2000
MAX_INPUT_BYTES = 1 << 34
_PR_SET_PDEATHSIG = 1

SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf",
               "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives", "/etc/passwd", "/etc/group",
               "/etc/nsswitch.conf")
DEVICES_RW = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")
DEVICES_READ = ("/dev/urandom", "/dev/random")
# Its own /proc entry (resolved now, so not its children's or anyone else's), and
# the machine facts libraries look up; never /proc as a whole.
PROC_READ = ("/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/loadavg")


def trimmed_traceback(exc: BaseException, submission_path: str) -> str:
    """The candidate's part of a traceback: frames from the submission, then the error."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission_path]
    lines = traceback.format_list(frames[-6:]) if frames else []
    text = "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))
    return text[-TRACEBACK_CHARS:]


def describe(exc: BaseException) -> str:
    return str(exc).strip()[:500] or type(exc).__name__


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":  # torch.cuda's too
        return "memory"
    if type(exc).__name__ == "ContractError":
        return "contract"
    if isinstance(exc, SystemExit):
        return "exit"
    return "exception"


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor the runner had (the host channel above all) but the worker's own."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # no /proc here (Landlock without bubblewrap): every number a descriptor can have
        names = map(str, range(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 1024))
    for name in names:
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def confine(job: dict, sandbox_dir: str) -> str:
    """The worker's own Landlock domain: the interpreter, the kept packages, the sandbox code, scratch."""
    import allowlist
    import landlock

    scratch = os.environ.get("TMPDIR") or "/tmp"
    read = list(SYSTEM_READ) + list(DEVICES_READ) + [sandbox_dir] + allowlist.readable_python(job["framework"])
    read += [os.path.realpath(p) for p in PROC_READ]
    devices, rewrite = [], []
    if job.get("device") == "cuda":
        devices = [os.path.join("/dev", d) for d in os.listdir("/dev") if d.startswith("nvidia")]
        read += ["/proc", "/sys"]  # the CUDA driver reads its own state there
        rewrite = cuda_rewrites(os.getpid())
        if job.get("framework") == "cuda":
            # the interpreter's programs: torch's load_inline runs the pip-installed ninja from there
            read.append(os.path.dirname(sys.executable))
    return landlock.confine(read, [scratch, "/dev/shm"] + list(DEVICES_RW), devices=devices, rewrite=rewrite)


def cuda_rewrites(pid: int) -> list[str]:
    """What the CUDA driver writes under this process's own /proc entry: refused, cuInit fails with
    error 304 ("OS call failed"). On an H200 (driver 580.159, CUDA 13) it opens
    /proc/self/task/<tid>/comm with fopen(..., "w") (write and truncate) to name its threads.
    Only this process's task folder, and only files that exist (nothing created or removed)."""
    return [f"/proc/{pid}/task"]


def load_submission(path: str, source: str, own_names: dict | None = None):
    module = types.ModuleType("submission")
    module.__file__ = path
    module.__dict__.update(own_names or {})  # attribute_rule's getattr & co., where the exercise has rules
    sys.modules["submission"] = module
    # The worker cannot read the job folder, so tracebacks get the source from memory.
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def load_driver(path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(job: dict, source: str, requests: int, replies: int, runner_pid: int, sandbox_dir: str) -> None:
    """Runs in the forked worker; never returns."""
    try:
        _serve(job, source, requests, replies, runner_pid, sandbox_dir)
    except BaseException:  # noqa: BLE001 - the grader's own fault before the candidate ran: say it on stderr
        os.write(2, ("dlverify worker: " + traceback.format_exc()[-3000:]).encode(errors="replace"))
        os._exit(70)
    os._exit(0)


def _serve(job, source, requests, replies, runner_pid, sandbox_dir) -> None:
    _close_inherited({requests, replies})
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the runner gone, the worker goes too
    if os.getppid() != runner_pid:
        os._exit(0)
    out = Channel(replies)
    try:
        confinement = confine(job, sandbox_dir)
    except OSError as exc:  # no Landlock in this kernel: the launcher has said so in the result
        confinement = f"not confined: {exc}"
    out.send({"type": "confined", "detail": confinement})
    # The machine's part before the candidate's: a GPU that cannot be used is the grader's fault.
    import preflight
    from gpu_digest import needs_triton_digest

    found = preflight.problems(job["device"], job["framework"],
                               triton_digest=needs_triton_digest(job["rules"].get("forbidden_ops")))
    out.send({"type": "preflight", "problems": found})
    if found:
        return

    import attribute_rule
    import codec
    import interpreter_device
    from guards import Guards

    io_kind, submission_path = job["io"], job["submission"]
    guards = Guards(job["rules"], lambda rule, detail: out.send(
        {"type": "violation", "rule": str(rule)[:100], "detail": str(detail)[:300]}))
    guards.install()
    driver = load_driver(job["driver"])
    interpreter_device.install()  # Triton interpreter on a CPU: device queries answer as a reference GPU
    own_names = attribute_rule.CHECKED if job["rules"].get("no_introspection") else None
    entry_points, device = list(job["entry_points"]), job["device"]
    # The runner's job (every case's parameters, the benchmark's) came along with the fork and
    # is reachable from its frames: empty it in this process before any candidate code runs.
    for key in ("cases", "bench"):
        if isinstance(job.get(key), list):
            job[key].clear()
    job.clear()
    del job

    try:
        module = load_submission(submission_path, source, own_names)
    except BaseException as exc:  # noqa: BLE001 - everything the candidate raises is data
        out.send({"type": "load_error", "kind": error_kind(exc), "message": trimmed_traceback(exc, submission_path)})
        return
    guards.check_intact("while importing the submission")
    missing = [name for name in entry_points if not hasattr(module, name)]
    if missing:
        out.send({"type": "load_error", "kind": "contract",
                  "message": f"the submission does not define {', '.join(missing)}"})
        return
    out.send({"type": "ready"})

    bench = None
    while True:
        frame = read_frame(requests, MAX_INPUT_BYTES)
        if frame is None:
            return
        op = frame[0].get("op")
        if op != "call":
            if not str(op).startswith("bench_"):
                return
            # GPU timing: the runner drives the timed loop (sandbox/gpu_timing.py) one request at a time.
            from gpu_worker import BenchWorker

            bench = bench or BenchWorker(module, driver, guards, device, io_kind, codec)
            try:
                reply, data = bench.handle(frame[0], frame[1])
            except BaseException as exc:  # noqa: BLE001
                guards.check_intact("during a timed call")
                out.send({"type": "error", "kind": error_kind(exc),
                          "message": trimmed_traceback(exc, submission_path)})
                continue
            guards.check_intact("during a timed call")
            out.send({**reply, "type": "result"}, data)
            continue
        params, data = frame[0].get("params"), frame[1]
        started = time.perf_counter()
        try:
            inputs = codec.loads(data, io_kind)
            with guards.watching_call():
                outputs = driver.run(module, params, inputs, device)
            with guards.after_call():
                changed = mutated_inputs(inputs, codec.loads(data, io_kind))
                if changed:
                    from contract import ContractError

                    raise ContractError(f"the call changed its input {changed!r} in place; inputs are read-only")
                del data
                payload = codec.dumps(outputs, io_kind)
        except BaseException as exc:  # noqa: BLE001
            kind = error_kind(exc)
            message = describe(exc) if kind == "contract" else trimmed_traceback(exc, submission_path)
            guards.check_intact("during the call")
            out.send({"type": "error", "kind": kind, "message": message})
            continue
        guards.check_intact("during the call")
        out.send({"type": "result", "seconds": time.perf_counter() - started}, payload)
