# WRONG(failed|crashed): unbounded recursion: first Python's RecursionError, then the limit lifted and the C stack overflowed (SIGSEGV)
"""Hostile: infinite recursion, first within Python's limit (an exception,
caught), then through C calls with the limit lifted, so the C stack
overflows and the process dies by SIGSEGV."""
import sys


def _down(n):
    return _down(n + 1) + 1


def _down_through_c(n):
    return list(map(_down_through_c, [n + 1]))  # every level a C frame (map, list) too


def mlp_loss_and_grads(params, x, y):
    try:
        _down(0)
    except RecursionError:
        pass
    sys.setrecursionlimit(10**8)
    return _down_through_c(0)
