"""The child's timed calls: one call per distinct input set, after an untimed warm-up.

Runs in the runner (child.py). On the CPU each timed call is framed by
bench_start / bench_end frames and the host clocks it by their arrival; the
host checks every output. On a GPU, given the worker link, the worker times
the calls with CUDA events inside a window the host clocks, and the runner
draws which calls come back to be checked (sandbox/gpu_timing.py).

Slot 0 of each pool is the warm-up's: its first call pays for imports inside
the call, lazy initialisation and page faults, which are nobody's speed.
"""

from __future__ import annotations

import time

from gpu_timing import run_gpu_benches, timed_slots  # one slot rule for both paths, and the host's


def run_benches(job, run_one, channel, format_error, error_kind, *, worker=None) -> None:
    if job.get("device") == "cuda" and worker is not None:
        run_gpu_benches(job, worker, channel)
        return
    for bench in job["bench"]:
        inputs = bench["inputs"]
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
