# WRONG(failed): monkeypatches numpy's comparison functions (allclose, isclose, array_equal, testing) to always agree, then answers garbage
"""Hostile: patching comparisons. The comparison happens in the host, with
the host's own numpy: nothing patched in the sandbox reaches it."""
import numpy as np
import numpy.testing

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _yes(*args, **kwargs):
    return True


def _nothing(*args, **kwargs):
    return None


if IN_SANDBOX:
    np.allclose = np.array_equal = np.array_equiv = _yes
    np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
    np.isfinite = lambda a, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
    numpy.testing.assert_allclose = numpy.testing.assert_array_equal = numpy.testing.assert_equal = _nothing


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    return float("nan"), {k: np.full_like(v, np.nan) for k, v in params.items()}
