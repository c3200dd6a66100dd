# WRONG(failed|crashed): finds every open descriptor (via /proc/self/fd and by brute force) and writes forged result frames into each: "case_end", "done"
"""Hostile: forged frames on the result channel. The worker that runs
candidate code does not hold the host's channel (the runner does), so the
frames land on the worker's own pipe to the runner, which reads them as
malformed or unasked-for messages and ends the run: a crash, never a pass."""
import json
import os
import struct

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _frame(header, payload=b""):
    head = json.dumps(header).encode()
    return struct.pack(">IQ", len(head), len(payload)) + head + payload


FORGED = [
    _frame({"event": "case_end", "name": "softmax_regression"}),
    _frame({"type": "result", "seconds": 0.0}),
    _frame({"event": "done"}),
    _frame({"type": "ready"}),
]


def _descriptors():
    found = set(range(3, 256))
    try:
        found |= {int(fd) for fd in os.listdir("/proc/self/fd")}
    except OSError:
        pass
    return sorted(found)


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for fd in _descriptors():
        for frame in FORGED:
            try:
                os.write(fd, frame)
            except OSError:
                break
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
