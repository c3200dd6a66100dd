"""The child's timed calls: one call per distinct input set, each framed by start/end frames.

The host clocks each call by the arrival of those frames; the child's own
timer travels along only as a cross-check. The host checks every output.
"""

from __future__ import annotations

import time


def run_benches(job, run_one, channel, format_error, error_kind) -> None:
    for bench in job["bench"]:
        for i, inputs_path in enumerate(bench["inputs"]):
            channel.send({"event": "bench_start", "name": bench["name"], "index": i})
            started = time.perf_counter()
            try:
                payload = run_one(bench["params"], inputs_path)
            except BaseException as exc:  # noqa: BLE001 - the candidate's failure is data
                channel.send({"event": "case_error", "name": bench["name"], "kind": error_kind(exc),
                              "message": format_error(exc)})
                return
            channel.send({"event": "bench_end", "name": bench["name"], "index": i,
                          "child_seconds": time.perf_counter() - started}, payload)
