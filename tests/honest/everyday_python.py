# HONEST(backprop_mlp, static): everyday standard-library idioms that reach nothing.
from __future__ import annotations, print_function

import collections
import functools
import itertools
import operator
import os
import sys
import timeit
import typing
from builtins import object, range, zip
from collections import namedtuple
from types import MappingProxyType, SimpleNamespace

import numpy as np

Shape = namedtuple("Shape", "n d")
DEFAULTS = MappingProxyType({"eps": 1e-12})
if typing.TYPE_CHECKING:
    from typing import Any


class Config(object):
    def __init__(self, **kwargs):
        self.__dict__.update(DEFAULTS, **kwargs)

    def __repr__(self):
        return "Config(%s)" % ", ".join("%s=%r" % kv for kv in sorted(vars_of(self).items()))


def vars_of(obj) -> dict:
    return {k: getattr(obj, k) for k in ("eps",) if hasattr(obj, k)}


def mlp_loss_and_grads(params, x, y):
    started = timeit.default_timer()
    shape = Shape(*x.shape)._replace(d=x.shape[1])
    widths = [params["W%d" % i].shape[1] for i in range(1, len(params) // 2 + 1)]
    get_w = operator.attrgetter("shape")
    total = functools.reduce(operator.add, (get_w(p)[0] for p in params.values()), 0)
    pairs = list(itertools.pairwise(widths)) if hasattr(itertools, "pairwise") else []
    counts = collections.Counter(y.tolist())
    ns = SimpleNamespace(shape=shape._asdict(), total=total, pairs=pairs, classes=len(counts))
    if os.environ.get("DEBUG_MLP"):
        print(ns, Config(), file=sys.stderr)
    if timeit.default_timer() - started > 60:
        sys.exit("too slow")
    return 0.0, {k: np.zeros_like(v) for k, v in zip(params.keys(), params.values())}
