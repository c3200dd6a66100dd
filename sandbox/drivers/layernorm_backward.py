"""layernorm_backward driver: runs in the child, next to the candidate's code. numpy only.

Calls forward, then backward with the cache forward returned; hands back y, dx, dgamma,
dbeta as arrays. The host re-checks everything.
"""

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child


def _entry(module, name):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {name}")
    return fn


def _array(name, value):
    if type(value) is not np.ndarray:
        raise ContractError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype.kind != "f":
        raise ContractError(f"{name} has non-float dtype {value.dtype}")
    return value


def run(module, params, inputs, device):
    fwd, bwd = _entry(module, "layernorm_forward"), _entry(module, "layernorm_backward")
    x, gamma, beta, dy = inputs["x"], inputs["gamma"], inputs["beta"], inputs["dy"]
    result = fwd(x.copy(), gamma.copy(), beta.copy(), float(params["eps"]))
    if not isinstance(result, tuple) or len(result) != 2:
        raise ContractError("layernorm_forward must return a 2-tuple (y, cache)")
    y = _array("layernorm_forward's y", result[0]).copy()   # a copy: backward may not change what we return
    grads = bwd(dy.copy(), result[1])
    if not isinstance(grads, tuple) or len(grads) != 3:
        raise ContractError("layernorm_backward must return a 3-tuple (dx, dgamma, dbeta)")
    dx, dgamma, dbeta = (_array(f"layernorm_backward's {k}", v) for k, v in zip(("dx", "dgamma", "dbeta"), grads))
    return {"y": y, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}
