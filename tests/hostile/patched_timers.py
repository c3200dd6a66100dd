# HOSTILE(backprop_mlp, passed, throughput): right answers, slowed by 0.2 s a call, with every clock in the process patched to hide it
"""Correct, so it passes; the point is the throughput figure: the host clocks
each call by when its frames arrive, so the sleep shows however the clocks
inside the sandbox are patched."""
import time

import numpy as np

_real_sleep = time.sleep
_hidden = [0.0]


def _patched(clock):
    def reading(*args):
        return clock(*args) - _hidden[0]
    return reading


for _name in ("perf_counter", "monotonic", "time", "process_time", "thread_time"):
    setattr(time, _name, _patched(getattr(time, _name)))
for _name in ("perf_counter_ns", "monotonic_ns", "time_ns"):
    _clock = getattr(time, _name)
    setattr(time, _name, lambda _clock=_clock: _clock() - int(_hidden[0] * 1e9))


def mlp_loss_and_grads(params, x, y):
    _real_sleep(0.2)
    _hidden[0] += 0.2
    n_layers, n = len(params) // 2, x.shape[0]
    acts, pre, h = [], [], x
    for i in range(1, n_layers + 1):
        acts.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        pre.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ params[f"W{i}"].T) * (pre[i - 2] > 0)
    return float(-log_probs[rows, y].mean()), grads
