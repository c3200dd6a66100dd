"""The sandbox child's runner: reads the job, runs each case through the worker, reports to the host.

    python -I -B -u child.py JOB.json START_CASE RUN_BENCH CHANNEL_FD

Two processes inside the sandbox. The runner (this file) reads the job (case
parameters and input files, never the reference, the hidden-case file or the
secret seed), imports the heavy libraries once and forks the worker
(worker.py), which alone runs candidate code, confined further. The runner
alone holds the result channel to the host: it sends each case's input bytes
to the worker, forwards what comes back as data, and stamps nothing; the host
compares, times and builds the result. The runner is not dumpable, so the
worker cannot read its memory or its descriptors through /proc.

When the worker dies (a signal, an exit, the OOM killer), the runner says so
on the channel and dies the same way, so the host's evidence (its exit status,
the cgroup's counters) reads as the worker's.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from channel import Channel, FrameBuffer, ProtocolError  # noqa: E402

MAX_OUTPUT_BYTES = 1 << 34      # the host caps outputs far lower; this only bounds a frame
MAX_VIOLATIONS = 20             # forwarded to the host; more say nothing new
_PR_SET_DUMPABLE = 4


class WorkerError(Exception):
    """The candidate's call raised: kind and message as the worker reported them."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class WorkerLink:
    """The runner's end of the worker: requests out, replies in, death noticed at once."""

    def __init__(self, pid: int, requests: int, replies: int, channel: Channel):
        self.pid, self.requests, self.replies, self.channel = pid, requests, replies, channel
        self.buffer = FrameBuffer(MAX_OUTPUT_BYTES)
        self.pending: deque = deque()
        self.forwarded: set = set()
        self.confinement = ""
        self.messages = 0               # how many the worker has sent
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None  # an old kernel: poll the pid instead

    def call(self, params: dict, data: bytes) -> bytes:
        """One case: input bytes in, output bytes back (or WorkerError)."""
        self.send({"op": "call", "params": params}, data)
        header, payload = self.receive()
        kind = header.get("type")
        if kind == "result":
            return payload
        if kind == "error":
            raise WorkerError(str(header.get("kind", "exception"))[:20], str(header.get("message", ""))[:4000])
        self.abort(f"the submission sent the grader a message it did not ask for ({str(kind)[:40]!r})")

    def send(self, header: dict, payload: bytes = b"") -> None:
        try:
            Channel(self.requests).send(header, payload)
        except OSError:
            self.died()

    def receive(self) -> tuple[dict, bytes]:
        """The worker's next reply; violations are forwarded to the host on the way."""
        while True:
            while self.pending:
                header, payload = self.pending.popleft()
                kind = header.get("type")
                self.messages += 1
                if kind == "violation":
                    self.forward_violation(header)
                elif kind == "confined" and self.messages == 1:
                    # only the first message, sent before any candidate code ran, can say this
                    self.confinement = str(header.get("detail", ""))[:300]
                elif kind == "preflight" and self.messages == 2:
                    # the second, also before any candidate code: the machine's own problems
                    found = header.get("problems")
                    if isinstance(found, list) and found:
                        self.channel.send({"event": "grader_fault", "problems": [str(p)[:600] for p in found[:8]]})
                        self.stop()
                        os._exit(0)
                    # the host's clock: start-up ends and the submission's load (a build) begins
                    self.channel.send({"event": "loading"})
                else:
                    return header, payload
            self._wait_for_bytes()

    def _wait_for_bytes(self) -> None:
        watched = [self.replies] + ([self.pidfd] if self.pidfd is not None else [])
        ready, _, _ = select.select(watched, [], [], None if self.pidfd is not None else 0.05)
        if self.replies in ready:
            chunk = os.read(self.replies, 1 << 20)
            if not chunk:
                # End of stream: the worker is dying (its files close before its exit status is
                # set), or it shut the pipe and lives on. Give it a moment to say which.
                self.died(closed=not self._exits_within(1.0))
            self._feed(chunk)
        elif self.pidfd in ready or (self.pidfd is None and _exited(self.pid)):
            self._drain()
            if not self.pending:
                self.died()

    def _exits_within(self, seconds: float) -> bool:
        if self.pidfd is not None:
            return bool(select.select([self.pidfd], [], [], seconds)[0])
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if _exited(self.pid):
                return True
            time.sleep(0.01)
        return False

    def _drain(self) -> None:
        """What the worker wrote just before it died (non-blocking: a grandchild may hold the pipe)."""
        os.set_blocking(self.replies, False)
        try:
            while True:
                chunk = os.read(self.replies, 1 << 20)
                if not chunk:
                    break
                self._feed(chunk)
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(self.replies, True)

    def _feed(self, chunk: bytes) -> None:
        try:
            self.pending.extend(self.buffer.feed(chunk))
        except ProtocolError as exc:
            self.abort(f"the submission wrote to the grader's pipe ({exc})")

    def forward_violation(self, header: dict) -> None:
        key = (str(header.get("rule"))[:100], str(header.get("detail"))[:300])
        if key in self.forwarded or len(self.forwarded) >= MAX_VIOLATIONS:
            return
        self.forwarded.add(key)
        self.channel.send({"event": "violation", "rule": key[0], "detail": key[1]})

    def abort(self, why: str):
        """The worker broke the protocol: stop it and end the run without a result."""
        _kill(self.pid)
        self.channel.send({"event": "abort", "why": why})
        os._exit(3)

    def died(self, closed: bool = False):
        """The worker is gone (or has shut its pipe): end the run the way it ended."""
        if closed:
            _kill(self.pid)
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            why = f"the submission's process was killed by {_signal_name(sig)}"
        else:
            sig, code = None, os.WEXITSTATUS(status)
            why = f"the submission's process exited (code {code}) before it finished"
        if closed:
            why = "the submission closed the grader's pipe"
        self.channel.send({"event": "abort", "why": why, "signal": sig})
        if sig is not None and not closed:
            try:
                signal.signal(sig, signal.SIG_DFL)  # SIGKILL and SIGSTOP have no handler to reset
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
            except (OSError, ValueError):
                pass
            os.kill(os.getpid(), sig)
            os._exit(128 + sig)
        os._exit(code if not closed else 3)

    def stop(self) -> None:
        _kill(self.pid)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exited(pid: int) -> bool:
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def start_worker(job: dict, source: str, channel: Channel) -> WorkerLink:
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    runner = os.getpid()
    pid = os.fork()
    if pid == 0:
        from worker import serve

        os.close(to_worker_w)
        os.close(from_worker_r)
        serve(job, source, to_worker_r, from_worker_w, runner, HERE)  # never returns
    os.close(to_worker_r)
    os.close(from_worker_w)
    return WorkerLink(pid, to_worker_w, from_worker_r, channel)


def inside(path: str) -> str:
    """A host path as this sandbox sees it (bubblewrap binds host folders under /tmp elsewhere)."""
    prefix = os.environ.get("DLVERIFY_PATH_PREFIX", "")
    return prefix + path if prefix and os.path.lexists(prefix + path) else path


def main(argv: list[str]) -> None:
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/<runner>/{mem,fd,environ} for anyone
    job = json.load(open(argv[1], encoding="utf-8"))
    start_case = int(argv[2])
    run_bench = argv[3] == "1"
    # A local sandbox passes an inherited pipe's number; Docker a FIFO's path.
    target = argv[4]
    channel = Channel(int(target) if target.isdigit() else os.open(target, os.O_WRONLY))
    source = open(inside(job["submission"]), encoding="utf-8").read()
    job["driver"] = inside(job["driver"])
    for item in job["cases"]:
        item["inputs"] = inside(item["inputs"])
    for item in job.get("bench", []):
        item["inputs"] = [inside(p) for p in item.get("inputs", [])]

    # Heavy libraries once, before the fork, so the worker starts warm and their
    # own imports are never the candidate's. numpy-only exercises never import torch.
    import numpy  # noqa: F401

    if job["io"] == "torch":
        import torch

        torch.set_num_threads(max(1, int(job.get("threads", 1))))
    if job["framework"] == "triton":
        import triton  # noqa: F401  (TRITON_INTERPRET is set by the host's environment)

    worker = start_worker(job, source, channel)
    header, _ = worker.receive()
    if header.get("type") == "load_error":
        channel.send({"event": "load_error", "kind": str(header.get("kind"))[:20],
                      "message": str(header.get("message", ""))[:4000]})
        worker.stop()
        os._exit(0)
    if header.get("type") != "ready":
        worker.abort("the submission sent the grader a message it did not ask for")
    channel.send({"event": "ready", "worker": worker.confinement})

    def run_one(params, inputs_path):
        with open(inputs_path, "rb") as f:
            data = f.read()
        return worker.call(params, data)

    for case in job["cases"][start_case:]:
        channel.send({"event": "case_start", "name": case["name"]})
        try:
            payload = run_one(case["params"], case["inputs"])
        except WorkerError as exc:
            channel.send({"event": "case_error", "name": case["name"], "kind": exc.kind, "message": exc.message})
            continue
        channel.send({"event": "case_end", "name": case["name"]}, payload)

    if run_bench:
        from bench import run_benches

        run_benches(job, run_one, channel, lambda exc: getattr(exc, "message", str(exc)),
                    lambda exc: getattr(exc, "kind", "exception"), worker=worker)

    channel.send({"event": "done"})
    worker.stop()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
