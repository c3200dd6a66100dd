# WRONG(failed): returns views of its inputs as the gradients (the weights themselves), no work done
"""Hostile: aliases of the inputs as outputs."""


def mlp_loss_and_grads(params, x, y):
    return float(x.sum()), {k: v[...] for k, v in params.items()}
