# WRONG(failed): raises SystemExit(0) inside every call, hoping the grader stops and reports what it has
"""Hostile: sys.exit inside the call."""
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    if IN_SANDBOX:
        sys.exit(0)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
