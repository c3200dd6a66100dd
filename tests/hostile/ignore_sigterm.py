# HOSTILE(backprop_mlp, timeout): ignores every catchable signal, and so do the children it starts; then waits forever
"""SIGKILL cannot be ignored: the grader ends the run at its limit anyway."""
import ctypes
import os
import signal
import time


def _deaf():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM, signal.SIGXCPU, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    ctypes.CDLL(None).prctl(15, b"dlvh-deaf", 0, 0, 0)


def mlp_loss_and_grads(params, x, y):
    _deaf()
    for _ in range(3):
        if os.fork() == 0:
            _deaf()
            while True:
                time.sleep(3600)
    while True:
        try:
            time.sleep(3600)
        except BaseException:  # noqa: BLE001 - not even KeyboardInterrupt
            pass
