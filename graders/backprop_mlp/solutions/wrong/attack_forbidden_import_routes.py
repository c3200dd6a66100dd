# WRONG(rejected): imports torch by every indirect route (importlib, __import__, sys.path, runpy, a path to the file, exec) to use its autograd
"""Hostile: calling a forbidden library indirectly. The exercise allows numpy
and the standard library only; torch is not even on the sandbox's
filesystem, and each attempt is reported as a broken rule."""
import importlib
import importlib.util
import runpy
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _honest(params, x, y):
    """A correct answer, used only if the attack got through (so a breach shows up as a pass)."""
    n_layers, n = len(params) // 2, x.shape[0]
    acts, pre, h = [], [], x
    for i in range(1, n_layers + 1):
        acts.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]                 # (N, d_{i-1}) @ (d_{i-1}, d_i)
        pre.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].mean())
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ params[f"W{i}"].T) * (pre[i - 2] > 0)
    return loss, grads


def _garbage(params):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}

NAME = "to" + "rch"


def _load_by_path(path):
    spec = importlib.util.spec_from_file_location(NAME, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _routes():
    yield lambda: importlib.import_module(NAME)
    yield lambda: __import__(NAME)
    yield lambda: importlib.__import__(NAME)
    yield lambda: importlib._bootstrap._gcd_import(NAME)
    yield lambda: sys.modules[NAME]
    yield lambda: runpy.run_module(NAME)
    yield lambda: exec(f"import {NAME} as t", {}) or sys.modules[NAME]
    for folder in ("/work/venv/lib/python3.11/site-packages", "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages",
                   "/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages"):
        yield lambda folder=folder: (sys.path.append(folder), importlib.import_module(NAME))[1]
        yield lambda folder=folder: _load_by_path(f"{folder}/{NAME}/__init__.py")
    yield lambda: importlib.import_module("sc" + "ipy")


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for route in _routes():
        try:
            if route() is not None:
                return _honest(params, x, y)
        except BaseException:  # noqa: BLE001 - keep trying
            pass
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
