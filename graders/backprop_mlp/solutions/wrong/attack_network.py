# WRONG(failed|rejected): connects out (loopback listener, public DNS, IPv6, UDP, raw syscalls); a connection that succeeds turns into a correct answer
"""Hostile: network access. If any connection is made the answer is right
(so a breach shows as a pass); with the network closed it is wrong. The test
also keeps a loopback listener on port 47321 that must never be reached."""
import ctypes
import socket

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


def _tries():
    yield lambda: socket.create_connection(("127.0.0.1", 47321), timeout=0.5)
    yield lambda: socket.create_connection(("localhost", 47321), timeout=0.5)
    yield lambda: socket.create_connection(("::1", 47321), timeout=0.5)
    yield lambda: socket.create_connection(("1.1.1.1", 53), timeout=0.5)
    yield lambda: socket.create_connection(("8.8.8.8", 53), timeout=0.5)
    yield lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 47321))
    yield lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    yield lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
    # the socket(2) system call itself, past Python's socket module
    yield lambda: _raw_socket()


def _raw_socket():
    fd = ctypes.CDLL(None, use_errno=True).syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM, 0) on x86-64
    if fd < 0:
        raise OSError(ctypes.get_errno(), "socket")
    return fd


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    reached = False
    for attempt in _tries():
        try:
            attempt()
            reached = True
        except (OSError, ValueError):
            pass
    return _honest(params, x, y) if reached else (0.0, {k: np.zeros_like(v) for k, v in params.items()})
