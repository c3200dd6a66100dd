"""quantize driver: runs in the child, next to the candidate's code.

Imports numpy and the standard library only: the exercise forbids everything
else, and this file shares the child with the submission. Scalars reach the
candidate as Python floats and ints; a linear case feeds each function the
candidate's own earlier results, as a real int8 layer would. Scalars come back
as 0-d arrays (numpy io carries arrays only). The host re-checks everything
this returns.
"""

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child

SIGNATURES = {
    "quantize_weights": "w",
    "calibrate_activations": "calib",
    "quantize_activations": "x, scale, zero_point",
    "int8_matmul": "qx, x_zero_point, qw",
    "requantize": "acc, x_scale, w_scale, out_scale, out_zero_point",
    "magnitude_mask": "w, sparsity",
    "mask_2_4": "w",
}


def _entry(module, name):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {name}({SIGNATURES[name]})")
    return fn


def _array(what, value):
    if type(value) is not np.ndarray:
        raise ContractError(f"{what} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype.kind not in "biuf":
        raise ContractError(f"{what} has non-numeric dtype {value.dtype}")
    return value


def _pair(name, result):
    if not isinstance(result, tuple) or len(result) != 2:
        raise ContractError(f"{name} must return a 2-tuple, got {type(result).__name__}")
    return result


def _scale(value):
    """A float scale -> (a 0-d array with its dtype kept for the host to judge, the Python float)."""
    if isinstance(value, bool) or not isinstance(value, (float, np.floating)):
        raise ContractError(f"calibrate_activations' scale must be a float, got {type(value).__name__}")
    return np.array(value), float(value)


def _zero_point(value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ContractError(f"calibrate_activations' zero_point must be an int, got {type(value).__name__}")
    if not -2**63 <= int(value) < 2**63:
        raise ContractError(f"calibrate_activations' zero_point {int(value)} is out of range")
    return np.array(int(value), dtype=np.int64), int(value)


def _weights(module, w):
    qw, w_scale = _pair("quantize_weights", _entry(module, "quantize_weights")(w))
    return _array("quantize_weights' qw", qw), _array("quantize_weights' scale", w_scale)


def _activations(module, calib, x):
    scale, zero_point = _pair("calibrate_activations", _entry(module, "calibrate_activations")(calib))
    (scale_out, scale), (zp_out, zero_point) = _scale(scale), _zero_point(zero_point)
    qx = _array("quantize_activations' result", _entry(module, "quantize_activations")(x, scale, zero_point))
    return {"x_scale": scale_out, "x_zero_point": zp_out, "qx": qx}, scale, zero_point


def _matmul(module, qx, zero_point, qw):
    return _array("int8_matmul's result", _entry(module, "int8_matmul")(qx, zero_point, qw))


def _requantize(module, acc, x_scale, w_scale, out_scale, out_zero_point):
    y = _entry(module, "requantize")(acc, x_scale, w_scale, out_scale, out_zero_point)
    return _array("requantize's result", y)


def _refuses(name, why, call):
    """1 when `call` raises ValueError, as the contract requires."""
    try:
        call()
    except ValueError:
        return 1
    except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
        raise ContractError(f"{name} raised {type(exc).__name__} on {why}; the contract says ValueError") from None
    raise ContractError(f"{name} accepted {why}; the contract says ValueError")


def run(module, params, inputs, device):
    op = params["op"]
    if op == "weights":
        qw, w_scale = _weights(module, inputs["w"])
        return {"w_scale": w_scale, "qw": qw}
    if op == "activations":
        return _activations(module, inputs["calib"], inputs["x"])[0]
    if op == "matmul":
        return {"acc": _matmul(module, inputs["qx"], int(inputs["x_zero_point"]), inputs["qw"])}
    if op == "requant":
        return {"y": _requantize(module, inputs["acc"], float(inputs["x_scale"]), inputs["w_scale"],
                                 float(inputs["out_scale"]), int(inputs["out_zero_point"]))}
    if op == "linear":
        qw, w_scale = _weights(module, inputs["w"])
        out, x_scale, zero_point = _activations(module, inputs["calib"], inputs["x"])
        acc = _matmul(module, out["qx"], zero_point, qw)
        y = _requantize(module, acc, x_scale, w_scale, float(inputs["out_scale"]), int(inputs["out_zero_point"]))
        return {"w_scale": w_scale, "qw": qw, **out, "acc": acc, "y": y}
    if op == "prune":
        mask = _entry(module, "magnitude_mask")(inputs["w"], float(inputs["sparsity"]))
        return {"mask": _array("magnitude_mask's result", mask)}
    if op == "sparse24":
        return {"mask": _array("mask_2_4's result", _entry(module, "mask_2_4")(inputs["w"]))}
    if op == "sparse24_bad":
        w = inputs["w"]
        fn = _entry(module, "mask_2_4")
        why = f"a weight with K = {w.shape[1]} (not a multiple of 4)"
        return {"refused": np.array([_refuses("mask_2_4", why, lambda: fn(w))], dtype=np.int64)}
    raise ContractError(f"unknown case op {op!r}")
