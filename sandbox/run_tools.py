"""Run the grader's own toolchain commands (nvcc, nm) on a candidate's files, inside the sandbox.

    python -I -B -u run_tools.py REQUEST.json CHANNEL_FD

The host launches this file through the same launcher as a grading (cgroup,
uid 65534, bubblewrap, rlimits, seccomp), so the compiler that reads hostile
source sees the system folders and the CUDA toolkit read-only, the job folder
(this request and the source) and a size-capped scratch, nothing else: an
`#include "/etc/shadow"` or an assembler's `.incbin` finds no such file.

The request names the files to copy from its folder into a fresh build folder
in scratch, and the commands to run there in order (argv, seconds; a step
marked `needs_ok` runs only when the one before it succeeded). Each command's
stdout and stderr are read as they come and only the first `cap` bytes kept:
a compiler that prints gigabytes (`.rept` around `.print`) costs no memory
here or on the host. Each step's result goes to the host as one frame; the
host trusts none of it beyond its size.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from channel import Channel  # noqa: E402

_PR_SET_DUMPABLE = 4


def _more_killable() -> None:
    """In the step's process, before exec: when the run's memory runs out, the OOM killer takes
    the compiler rather than this reporter (raising one's own score needs no privilege)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def run_step(argv: list[str], cwd: str, seconds: float, cap: int) -> dict:
    """Run one command in its own session; keep the first `cap` bytes of its output, count the rest."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_more_killable)
    except OSError as exc:
        return {"started": False, "returncode": None, "timed_out": False,
                "output": f"could not start {os.path.basename(argv[0])}: {exc.strerror}", "output_bytes": 0,
                "seconds": 0.0}
    kept, total, timed_out = bytearray(), 0, False
    fd = proc.stdout.fileno()
    deadline = started + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        total += len(chunk)
        if len(kept) < cap:
            kept += chunk[:cap - len(kept)]
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # nvcc's whole tree: cicc, ptxas, gcc, as
        except ProcessLookupError:
            pass
    proc.stdout.close()
    code = proc.wait()
    return {"started": True, "returncode": None if timed_out else code, "timed_out": timed_out,
            "output": kept.decode("utf-8", errors="replace"), "output_bytes": total,
            "seconds": round(time.monotonic() - started, 3)}


def main(argv: list[str]) -> None:
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/<this>/fd for the tools it starts
    request_path = argv[1]
    channel = Channel(int(argv[2]))
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    build = tempfile.mkdtemp(prefix="build-")  # TMPDIR: the scratch
    for name in request["files"]:
        shutil.copyfile(os.path.join(os.path.dirname(request_path), name), os.path.join(build, name))
    ok = True
    for index, step in enumerate(request["steps"]):
        if step.get("needs_ok") and not ok:
            break
        result = run_step(step["argv"], build, float(step["seconds"]), int(request["cap"]))
        output = result.pop("output").encode("utf-8")
        channel.send({"event": "step", "index": index, "build": build, **result}, output)
        ok = result["returncode"] == 0
    channel.send({"event": "done"})


if __name__ == "__main__":
    main(sys.argv)
