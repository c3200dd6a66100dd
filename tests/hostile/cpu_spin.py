# HOSTILE(backprop_mlp, timeout): spins on the CPU in every thread it can start, forever
"""Slow on purpose: graded with a wall-clock limit of a few seconds."""
import ctypes
import threading


def _spin():
    ctypes.CDLL(None).prctl(15, b"dlvh-spinner", 0, 0, 0)
    while True:
        pass


def mlp_loss_and_grads(params, x, y):
    for _ in range(4):
        threading.Thread(target=_spin, daemon=True).start()
    _spin()
