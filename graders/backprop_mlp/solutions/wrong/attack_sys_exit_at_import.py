# WRONG(failed): calls sys.exit(0) while being imported, hoping a clean exit reads as success
"""Hostile: sys.exit at import. SystemExit is caught like any exception."""
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


if IN_SANDBOX:
    sys.exit(0)
