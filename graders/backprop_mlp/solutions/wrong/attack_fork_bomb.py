# WRONG(failed|rejected): fork bomb: forks until the process limit refuses, every child parked forever; the grader must bound it and leave none running
"""Hostile: a fork bomb. The cgroup's pids limit (and RLIMIT_NPROC) stop the
flood; every parked child is killed when the run ends. Returns a wrong answer."""
import ctypes
import os
import signal

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"

MARKER = b"dlvh-forkbomb"


def _park():
    ctypes.CDLL(None).prctl(15, MARKER, 0, 0, 0)  # PR_SET_NAME: the test finds leftovers by it
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        signal.pause()


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    children = 0
    while children < 10_000:
        try:
            pid = os.fork()
        except OSError:
            break  # the limit said no
        if pid == 0:
            _park()
        children += 1
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
