"""conv2d_backprop driver: runs in the child, next to the candidate's code.

Imports numpy and the standard library only: the exercise forbids everything
else, and this file shares the child with the submission. stride, padding and
dilation reach the candidate as (h, w) tuples of ints, groups as an int. The
host re-checks everything this returns.
"""

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child

CONV = ("conv2d_forward", "conv2d_backward")
POOL = ("maxpool2x2_forward", "maxpool2x2_backward")


def _pair(value):
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _entry(module, name, args):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {name}({args})")
    return fn


def _array(name, value):
    if type(value) is not np.ndarray:
        raise ContractError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype.kind not in "biuf":
        raise ContractError(f"{name} has non-numeric dtype {value.dtype}")
    return value


def _conv_args(params):
    return (_pair(params.get("stride", 1)), _pair(params.get("padding", 0)), _pair(params.get("dilation", 1)),
            int(params.get("groups", 1)))


def _bad_why(params):
    """What is wrong with a bad case's configuration, for the message."""
    groups = int(params.get("groups", 1))
    if int(params["C"]) % groups or int(params["F"]) % groups:
        return f"{params['C']} -> {params['F']} channels are not divisible by groups = {groups}"
    return "the dilated kernel is larger than the padded input"


def _refuses(name, why, call):
    """1 when `call` raises ValueError, as the contract requires of a bad configuration."""
    try:
        call()
    except ValueError:
        return 1
    except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
        raise ContractError(f"{name} raised {type(exc).__name__} on a bad configuration ({why}); "
                            "the contract says ValueError") from None
    raise ContractError(f"{name} accepted a bad configuration ({why}); the contract says ValueError")


def run(module, params, inputs, device):
    op = params["op"]
    if op == "pool":
        fwd = _entry(module, POOL[0], "x")
        bwd = _entry(module, POOL[1], "dy, x")
        y = _array("maxpool2x2_forward's result", fwd(inputs["x"]))
        dx = _array("maxpool2x2_backward's result", bwd(inputs["dy"], inputs["x"]))
        return {"y": y, "dx": dx}

    fwd = _entry(module, CONV[0], "x, w, b, stride, padding, dilation, groups")
    bwd = _entry(module, CONV[1], "dy, x, w, stride, padding, dilation, groups")
    args = _conv_args(params)
    x, w, b, dy = inputs["x"], inputs["w"], inputs["b"], inputs["dy"]
    if op == "bad":
        why = _bad_why(params)
        refused = [_refuses(CONV[0], why, lambda: fwd(x, w, b, *args)),
                   _refuses(CONV[1], why, lambda: bwd(dy, x, w, *args))]
        return {"refused": np.array(refused, dtype=np.int64)}

    y = _array("conv2d_forward's result", fwd(x, w, b, *args))
    result = bwd(dy, x, w, *args)
    if not isinstance(result, tuple) or len(result) != 3:
        raise ContractError(f"conv2d_backward must return a 3-tuple (dx, dw, db), got {type(result).__name__}")
    dx, dw, db = (_array(f"conv2d_backward's {k}", v) for k, v in zip(("dx", "dw", "db"), result))
    return {"y": y, "dx": dx, "dw": dw, "db": db}
