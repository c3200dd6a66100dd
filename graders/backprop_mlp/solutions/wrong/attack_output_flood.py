# WRONG(failed): floods stdout and stderr (about 64 MiB each) with no newline, then answers garbage; the result must stay small
"""Hostile: an output flood. The host keeps the first few KB of each stream and
counts the rest, reading as fast as it comes so the child never blocks."""
import os

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"

BLOCK = b"dlvh-flood " * 100_000


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(64):
        os.write(1, BLOCK[: 1 << 20])
        os.write(2, BLOCK[: 1 << 20])
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
