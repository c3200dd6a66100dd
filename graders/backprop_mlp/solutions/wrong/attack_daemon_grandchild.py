# WRONG(failed|rejected): double fork + setsid: a daemonised grandchild (exec'd sleep, and a Python one ignoring every signal) meant to outlive the grading
"""Hostile: daemonised grandchildren. They leave the child's session and
process group; the cgroup and the pid namespace still take them down when the
run ends."""
import ctypes
import os
import signal

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _daemonise(python_too):
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_IGN)
    if python_too:
        ctypes.CDLL(None).prctl(15, b"dlvh-daemon", 0, 0, 0)
        while True:
            signal.pause()
    try:
        os.execv("/bin/sleep", ["sleep", "600", "dlvh-daemon-sleep"])
    except OSError:
        os._exit(0)


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    _daemonise(False)
    _daemonise(True)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
