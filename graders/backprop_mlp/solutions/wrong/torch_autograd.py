# WRONG(rejected): imports torch and lets autograd do the backward pass (numpy only)
import numpy as np
import torch


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(x, dtype=torch.float64)
    for i in range(1, n_layers + 1):
        h = h @ tp[f"W{i}"] + tp[f"b{i}"]
        if i < n_layers:
            h = torch.relu(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    loss.backward()
    return float(loss), {k: v.grad.numpy() for k, v in tp.items()}
