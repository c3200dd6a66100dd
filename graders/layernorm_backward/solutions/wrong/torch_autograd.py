# WRONG(rejected): lets torch compute the gradient; only numpy is allowed
"""layernorm_backward, known wrong: autograd instead of a derivation."""

import numpy as np
import torch


def layernorm_forward(x, gamma, beta, eps):
    xt = torch.tensor(x, requires_grad=True)
    g, b = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    y = torch.nn.functional.layer_norm(xt, gamma.shape, g, b, eps)
    return y.detach().numpy(), (xt, g, b, y)


def layernorm_backward(dy, cache):
    xt, g, b, y = cache
    y.backward(torch.tensor(dy))
    return xt.grad.numpy(), g.grad.numpy(), b.grad.numpy().astype(np.asarray(dy).dtype)
