# WRONG(crashed|rejected): dereferences a null pointer through ctypes inside the call: SIGSEGV
"""Hostile: a segfault in the middle of a call. The grader reports it as a
crash of that case and goes on with the others."""
import ctypes

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    if IN_SANDBOX:
        ctypes.string_at(0)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
