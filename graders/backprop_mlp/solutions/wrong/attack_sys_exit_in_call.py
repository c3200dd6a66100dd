# WRONG(failed): raises SystemExit(0) inside every call, hoping the grader stops and reports what it has
"""Hostile: sys.exit inside the call."""
import sys


def mlp_loss_and_grads(params, x, y):
    sys.exit(0)
