"""drift_monitor driver: runs in the child, next to the candidate's code.

Turns the case's arrays into the plain Python the contract promises (lists of floats or ints,
None for a missing value: NaN for numeric features, -1 for categorical ones), calls one
function, and hands its answer back as an array. The host re-checks everything.
"""

import math

import numpy as np
from contract import ContractError  # /sandbox is on sys.path in the child

FUNCTIONS = {"psi": "psi", "psi_cat": "psi_categorical", "ks": "ks_statistic", "alerts": "alerts"}


def _numeric(a):
    return [None if math.isnan(v) else float(v) for v in a.tolist()]


def _categorical(a):
    return [None if v < 0 else int(v) for v in a.tolist()]


def _number(value, what):
    if value is None:
        return np.array([np.nan])                        # "no value": the host expects None as NaN here
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContractError(f"{what} must return a float or None, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number):                               # the host reads NaN as None: it must not pass for one
        raise ContractError(f"{what} returned NaN: return None where there is no value")
    return np.array([number])


def run(module, params, inputs, device):
    op = params["op"]
    fn = getattr(module, FUNCTIONS[op], None)
    if not callable(fn):
        raise ContractError(f"the submission does not define {FUNCTIONS[op]}")
    if op == "alerts":
        values = [None if math.isnan(v) else float(v) for v in inputs["values"].tolist()]
        states = fn(values, float(params["high"]), float(params["low"]), int(params["k_on"]), int(params["m_off"]))
        if not isinstance(states, list) or len(states) != len(values) or any(type(s) is not bool for s in states):
            raise ContractError(f"alerts must return a list of {len(values)} bools, one per batch")
        return {"states": np.array(states, dtype=bool)}
    convert = _categorical if op == "psi_cat" else _numeric
    out = []
    for b in range(len(params["batches"])):
        ref, live = convert(inputs["reference"]), convert(inputs[f"live{b}"])
        if op == "psi":
            out.append(_number(fn(ref, live, [float(e) for e in inputs["edges"].tolist()]), "psi"))
        else:
            out.append(_number(fn(ref, live), FUNCTIONS[op]))
    return {"values": np.concatenate(out)}
