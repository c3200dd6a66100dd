"""The child's timed calls: one call per distinct input set, after an untimed warm-up.

Runs in the runner (child.py). On the CPU each timed call is framed by
bench_start / bench_end frames and the host clocks it by their arrival; the
host checks every output. On a GPU, given the worker link, the worker times
the calls with CUDA events inside a window the host clocks, and the runner
draws which calls come back to be checked (sandbox/gpu_timing.py). A bench
whose driver makes its inputs on the device (bench_inputs) comes as seeds:
no input file is read or sent.

Slot 0 of each pool is the warm-up's: its first call pays for imports inside
the call, lazy initialisation and page faults, which are nobody's speed.
"""

from __future__ import annotations

import math
import time

from gpu_timing import draw, timed_slots  # one slot rule for both paths, and the host's


class BenchError(Exception):
    """A bench request failed in the worker: kind and message as it reported them."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def _request(worker, header: dict, payload: bytes = b"") -> tuple[dict, bytes]:
    worker.send(header, payload)
    reply, data = worker.receive()
    if reply.get("type") == "result":
        return reply, data
    if reply.get("type") == "error":
        raise BenchError(str(reply.get("kind", "exception"))[:20], str(reply.get("message", ""))[:4000])
    worker.abort(f"the submission sent the grader a message it did not ask for ({str(reply.get('type'))[:40]!r})")
    raise BenchError("exception", "protocol")  # abort does not return


def _number(value) -> float | None:
    """A finite float from what the worker sent, or None: its 10**400 must not end the runner."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _clean_digests(digests, calls: int) -> list:
    """What the worker sent, bounded: at most one digest per call, 64 short entries each."""
    if not isinstance(digests, list):
        return []
    out = []
    for item in digests[:calls]:
        entries = []
        for entry in item[:64] if isinstance(item, list) else []:
            if isinstance(entry, list) and len(entry) == 4:
                key, dtype, count, total = entry
                entries.append([str(key)[:64], str(dtype)[:16], count if isinstance(count, int) else -1,
                                total if isinstance(total, int) else str(total)[:64]])
        out.append(entries)
    return out


def run_gpu_benches(job: dict, worker, channel) -> None:
    """Every bench case of the job, timed in the worker, framed for the host (runs in the runner)."""
    for bench in job["bench"]:
        name = bench["name"]
        channel.send({"event": "bench_begin", "name": name})  # a death from here on is this bench's
        try:
            if bench.get("seeds"):
                # inputs made on the device, one seed per call (the job file holds seeds, not data)
                _request(worker, {"op": "bench_gen", "params": bench["params"], "seeds": bench["seeds"]})
                slots = len(bench["seeds"])
            else:
                for path in bench["inputs"]:
                    with open(path, "rb") as f:
                        _request(worker, {"op": "bench_load", "params": bench["params"]}, f.read())
                slots = len(bench["inputs"])
            warm, _ = _request(worker, {"op": "bench_warm"})
            limit = len(timed_slots(slots))
            channel.send({"event": "gpu_bench_start", "name": name, "calls_at_most": limit,
                          "warmup_calls": _number(warm.get("warmup_calls")),
                          "warmup_seconds": _number(warm.get("warmup_seconds")),
                          "flush_bytes": _number(warm.get("flush_bytes")), "clock": str(warm.get("clock"))[:20],
                          "exact": warm.get("exact") is True})
            timed, _ = _request(worker, {"op": "bench_run"})
            seconds = [_number(s) for s in timed.get("seconds", [])[:limit]] \
                if isinstance(timed.get("seconds"), list) else []
            channel.send({"event": "gpu_bench_end", "name": name, "seconds": seconds,
                          "digests": _clean_digests(timed.get("digests"), limit), "stop": str(timed.get("stop"))[:20]})
            drawn = draw(len(seconds))
            channel.send({"event": "gpu_bench_drawn", "name": name, "indices": drawn})
            for index in drawn:
                _, data = _request(worker, {"op": "bench_output", "index": index})
                channel.send({"event": "bench_output", "name": name, "index": index}, data)
            _request(worker, {"op": "bench_free"})
            channel.send({"event": "gpu_bench_done", "name": name})
        except BenchError as exc:
            channel.send({"event": "case_error", "name": name, "kind": exc.kind, "message": exc.message})
            return


def run_benches(job, run_one, channel, format_error, error_kind, *, worker=None) -> None:
    if job.get("device") == "cuda" and worker is not None:
        run_gpu_benches(job, worker, channel)
        return
    for bench in job["bench"]:
        inputs = bench["inputs"]
        channel.send({"event": "bench_begin", "name": bench["name"]})  # a death in the warm-up is this bench's
        try:
            run_one(bench["params"], inputs[0])  # warm-up: untimed, its output unused
        except Exception as exc:  # noqa: BLE001 - the candidate's failure is data
            channel.send({"event": "case_error", "name": bench["name"], "kind": error_kind(exc),
                          "message": format_error(exc)})
            return
        for i in timed_slots(len(inputs)):
            channel.send({"event": "bench_start", "name": bench["name"], "index": i})
            started = time.perf_counter()
            try:
                payload = run_one(bench["params"], inputs[i])
            except Exception as exc:  # noqa: BLE001
                channel.send({"event": "case_error", "name": bench["name"], "kind": error_kind(exc),
                              "message": format_error(exc)})
                return
            channel.send({"event": "bench_end", "name": bench["name"], "index": i,
                          "child_seconds": time.perf_counter() - started}, payload)
