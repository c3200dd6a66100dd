"""quantize driver: runs in the child, next to the candidate's code. numpy only.

One case calls one piece of the contract and hands back what it returned, as arrays of the
contract's dtypes; the host compares every integer exactly.
"""

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child


def _entry(module, name):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {name}")
    return fn


def _array(name, value, kind):
    if type(value) is not np.ndarray:
        raise ContractError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype != np.dtype(kind):
        raise ContractError(f"{name} must have dtype {kind}, got {value.dtype}")
    return value


def _number(name, value, types):
    if isinstance(value, bool) or not isinstance(value, types):
        raise ContractError(f"{name} must be a Python {' or '.join(t.__name__ for t in types)}, "
                            f"got {type(value).__name__}")
    return value


def _pair(name, value):
    if not isinstance(value, tuple) or len(value) != 2:
        raise ContractError(f"{name} must return a 2-tuple")
    return value


def run(module, params, inputs, device):
    op = params["op"]
    if op == "weight":
        q, scale = _pair("quantize_weight", _entry(module, "quantize_weight")(inputs["w"].copy()))
        return {"q": _array("quantize_weight's q", q, "int8"), "scale": _array("quantize_weight's scale", scale, "float64")}
    if op == "activation":
        scale, zp = _pair("quantize_activation", _entry(module, "quantize_activation")(inputs["calib"].copy()))
        scale, zp = _number("the scale", scale, (float,)), _number("the zero point", zp, (int,))
        q = _entry(module, "quantize")(inputs["x"].copy(), scale, zp)
        return {"scale": np.array(scale), "zero_point": np.array(zp, dtype=np.int64),
                "q": _array("quantize's result", q, "int8")}
    if op == "linear":
        p = params
        acc, y = _pair("int8_linear", _entry(module, "int8_linear")(
            inputs["qx"].copy(), int(p["x_zero_point"]), inputs["qw"].copy(), inputs["w_scale"].copy(),
            float(inputs["x_scale"]), float(inputs["out_scale"]), int(p["out_zero_point"])))
        return {"acc": _array("int8_linear's accumulator", acc, "int32"), "y": _array("int8_linear's y", y, "int8")}
    if op == "prune":
        mask = _entry(module, "magnitude_prune_mask")(inputs["w"].copy(), float(params["sparsity"]))
        return {"mask": _array("magnitude_prune_mask's result", mask, "bool")}
    fn = _entry(module, "mask_2_4")
    if op == "mask24":
        return {"mask": _array("mask_2_4's result", fn(inputs["w"].copy()), "bool")}
    try:   # op == "bad24": the contract says ValueError
        fn(inputs["w"].copy())
    except ValueError:
        return {"refused": np.array([1], dtype=np.int64)}
    except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
        raise ContractError(f"mask_2_4 raised {type(exc).__name__} for a last dimension that is not a multiple "
                            "of 4; the contract says ValueError") from None
    raise ContractError("mask_2_4 accepted a last dimension that is not a multiple of 4; the contract says ValueError")
