"""backprop_mlp driver: runs in the child, next to the candidate's code.

Imports numpy and the standard library only: the exercise forbids everything
else, and this file shares the child with the submission. The inputs arrive
flat (W1, b1, ..., WL, bL, x, y); the submission gets `params` as the dict the
README describes. The host re-checks everything this returns.
"""

import re

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child

ENTRY = "mlp_loss_and_grads"


def _params(inputs):
    n_layers = sum(1 for k in inputs if re.fullmatch(r"W\d+", k))
    params = {}
    for i in range(1, n_layers + 1):
        params[f"W{i}"] = inputs[f"W{i}"]
        params[f"b{i}"] = inputs[f"b{i}"]
    return params


def _loss_array(loss):
    """A float, a numpy floating scalar or a 0-d array -> a 0-d array, dtype kept for the host to judge."""
    if isinstance(loss, bool) or not isinstance(loss, (float, np.floating, np.ndarray)):
        raise ContractError(f"loss must be a float (float64), got {type(loss).__name__}")
    if isinstance(loss, np.ndarray):
        if type(loss) is not np.ndarray or loss.shape != () or loss.dtype.kind != "f":
            raise ContractError(f"loss must be a scalar float, got an array of shape {loss.shape} "
                                f"and dtype {loss.dtype}")
        return loss.copy()
    if isinstance(loss, np.floating):
        return np.array(loss)            # keeps float32 as float32: the host rejects it
    return np.array(float(loss), dtype=np.float64)


def run(module, params, inputs, device):
    fn = getattr(module, ENTRY, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {ENTRY}(params, x, y)")
    net = _params(inputs)
    result = fn(net, inputs["x"], inputs["y"])

    if not isinstance(result, tuple) or len(result) != 2:
        raise ContractError(f"{ENTRY} must return a 2-tuple (loss, grads), got {type(result).__name__}")
    loss, grads = result
    if not isinstance(grads, dict):
        raise ContractError(f"grads must be a dict, got {type(grads).__name__}")
    missing = [k for k in net if k not in grads]
    extra = sorted(repr(k) for k in grads if k not in net)
    if missing or extra:
        raise ContractError(f"grads must have exactly the keys {', '.join(net)}"
                            + (f"; missing {', '.join(missing)}" if missing else "")
                            + (f"; unexpected {', '.join(extra)}" if extra else ""))

    outputs = {"loss": _loss_array(loss)}
    for key, param in net.items():
        g = grads[key]
        if type(g) is not np.ndarray:
            raise ContractError(f"grads[{key!r}] must be a numpy.ndarray, got {type(g).__name__}")
        if g.shape != param.shape:
            raise ContractError(f"grads[{key!r}] has shape {g.shape}, expected {param.shape}")
        if g.dtype.kind not in "biufc":
            raise ContractError(f"grads[{key!r}] has non-numeric dtype {g.dtype}")
        outputs[f"grad_{key}"] = g
    return outputs
