# WRONG(failed|crashed): unbounded recursion: first Python's RecursionError, then the limit lifted and the C stack overflowed (SIGSEGV)
"""Hostile: infinite recursion, first within Python's limit (an exception,
caught), then through C calls with the limit lifted, so the C stack
overflows and the process dies by SIGSEGV."""
import sys

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
import numpy as np  # noqa: E402

IN_SANDBOX = __name__ == "submission"


def _down(n):
    return _down(n + 1) + 1


def _down_through_c(n):
    return list(map(_down_through_c, [n + 1]))  # every level a C frame (map, list) too


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    try:
        _down(0)
    except RecursionError:
        pass
    sys.setrecursionlimit(10**8)
    return _down_through_c(0)
