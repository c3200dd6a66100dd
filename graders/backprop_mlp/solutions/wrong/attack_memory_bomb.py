# WRONG(memory): on one case, allocates and touches memory without end; the cgroup's limit (OOM kill) must stop it and the status must say memory
"""Hostile: memory exhaustion. Only in the batch-of-one case (the others get
a wrong answer), so the grader's relaunch past the dead case is exercised
too and the whole run stays quick."""
import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    if x.shape[0] == 1:
        hoard = []
        while True:
            hoard.append(np.ones(1 << 25))  # 256 MiB a step, every page touched
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
