# HOSTILE(backprop_mlp, timeout): sleeps forever in the first call (under a name the test can find, to check its host uid)
"""Slow on purpose: graded with a wall-clock limit of a few seconds by tests/test_hostile.py."""
import ctypes
import time

ctypes.CDLL(None).prctl(15, b"dlvh-sleeper", 0, 0, 0)  # PR_SET_NAME


def mlp_loss_and_grads(params, x, y):
    while True:
        time.sleep(3600)
