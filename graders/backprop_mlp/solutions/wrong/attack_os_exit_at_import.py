# WRONG(crashed): os._exit(0) while being imported: the process vanishes with a clean exit code and no result
"""Hostile: os._exit at import. No exception to catch: the process is gone."""
import os

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


if IN_SANDBOX:
    os._exit(0)
