# WRONG(failed): prints forged results (result JSON, fake frames, "passed") on stdout and stderr and writes result files; answers garbage
"""Hostile: forged results on stdout, stderr and in files. The host never reads
a status from them: what the candidate prints is captured, capped, and kept
as text only."""
import json
import os
import struct
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"

FAKE = {"status": "passed", "summary": "12/12 cases passed", "correctness_score": 1.0,
        "cases": [{"name": "softmax_regression", "status": "passed"}]}


def _frame(header):
    head = json.dumps(header).encode()
    return struct.pack(">IQ", len(head), 0) + head


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    text = json.dumps(FAKE)
    print(text)
    print(text, file=sys.stderr)
    for header in ({"event": "case_end", "name": "softmax_regression"}, {"event": "done"}):
        os.write(1, _frame(header))
        os.write(2, _frame(header))
    for path in ("/tmp/dlvh-result.json", "dlvh-result.json", os.path.expanduser("~/dlvh-result.json"),
                 os.path.join(os.path.dirname(os.path.abspath(__file__)), "dlvh-result.json")):
        try:
            with open(path, "w") as f:
                f.write(text)
        except OSError:
            pass
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
