# WRONG(failed): returns zeros, then zeroes the inputs in place (params, x) so that a reference computed on them afterwards would agree
"""Hostile: mutating the inputs. The host compares against its own copy of
the inputs, which the sandbox never touches."""
import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for value in params.values():
        value[...] = 0.0
    x[...] = 0.0
    y[...] = 0
    n_classes = params[f"b{len(params) // 2}"].shape[0]
    return float(np.log(n_classes)), grads  # the loss of all-zero logits, as if the inputs had been zeros
