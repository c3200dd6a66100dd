"""backprop_mlp: write the forward and backward pass of an MLP by hand.

numpy and the standard library only. See README.md for the exact contract.
"""

import numpy as np


def mlp_loss_and_grads(params, x, y):
    """Mean softmax cross-entropy of a ReLU MLP and its gradients.

    params: {"W1": (d_0, d_1), "b1": (d_1,), ..., "WL": (d_{L-1}, d_L), "bL": (d_L,)}, float64
    x:      (N, d_0) float64
    y:      (N,) int64 class labels in [0, d_L)
    returns (loss, grads): loss a float, grads a dict with the keys and shapes of params, float64
    """
    raise NotImplementedError("mlp_loss_and_grads")
