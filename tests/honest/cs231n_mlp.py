# HONEST(backprop_mlp, passed): CS231n assignment style (their header, an object base class, a
# config namespace, kwargs copied into __dict__), wrapped to the exercise's contract.
from builtins import object
from builtins import range
from types import SimpleNamespace
import functools
import math
from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np


@dataclass
class Cache:
    inputs: list = field(default_factory=list)
    preacts: list = field(default_factory=list)


class FullyConnectedNet(object):
    """A stack of affine - relu layers and a softmax loss, as in CS231n's fc_net.py."""

    def __init__(self, params, **kwargs):
        self.params = params
        self.num_layers = len(params) // 2
        self.dtype = np.float64
        self.__dict__.update(kwargs)          # reg, seed, ... as the assignments pass them
        self.config = SimpleNamespace(eps=0.0, reg=getattr(self, "reg", 0.0))

    def loss(self, X, y) -> Tuple[float, Dict[str, np.ndarray]]:
        cache = Cache()
        out = X
        for i in range(1, self.num_layers + 1):
            cache.inputs.append(out)
            w, b = self.params["W%d" % i], self.params["b%d" % i]
            out = out.dot(w) + b                                  # (N, D) @ (D, H) -> (N, H)
            cache.preacts.append(out)
            if i < self.num_layers:
                out = np.maximum(0, out)
        loss, dout = softmax_loss(out, y)
        grads = {}
        for i in reversed(range(1, self.num_layers + 1)):
            grads["W%d" % i] = cache.inputs[i - 1].T.dot(dout)
            grads["b%d" % i] = np.sum(dout, axis=0)
            if i > 1:
                dout = dout.dot(self.params["W%d" % i].T) * (cache.preacts[i - 2] > 0)
        return loss, grads


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    n = x.shape[0]
    loss = -np.sum(log_probs[np.arange(n), y]) / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return float(loss), dx / n


@functools.lru_cache(maxsize=None)
def _dtype_name() -> str:
    return "float" + str(int(math.log2(64)) * 0 + 64)       # a dtype chosen at run time


def mlp_loss_and_grads(params, x, y):
    model = FullyConnectedNet(params, reg=0.0)
    loss, grads = model.loss(x, y)
    dtype = getattr(np, _dtype_name())                       # a computed, public name: checked, allowed
    return loss, {k: v.astype(dtype) for k, v in grads.items()}
