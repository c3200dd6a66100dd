"""Correct, ordered differently from the reference.

Losses are kept as detached tensors and read once per step; the division by the
group size happens after scaling; unscale_ is only called when clipping needs
it (scaler.step unscales otherwise); gradients are zeroed before each group.
"""

import torch


def train_mixed_precision(model, optimizer, batches, loss_fn, *, device_type, dtype,
                          accum_steps=1, max_grad_norm=None, scaler=None):
    step_losses = []
    n = len(batches)
    for start in range(0, n, accum_steps):
        stop = min(start + accum_steps, n)
        k = stop - start
        optimizer.zero_grad()
        micro = []
        for i in range(start, stop):
            x, y = batches[i]
            with torch.amp.autocast(device_type=device_type, dtype=dtype):
                logits = model(x)
                loss = loss_fn(logits, y)
            micro.append(loss.detach())
            scaled = scaler.scale(loss) if scaler is not None else loss
            (scaled / k).backward()
        if max_grad_norm is not None:
            if scaler is not None:
                scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        step_losses.append(torch.stack(micro).mean().item())
    optimizer.zero_grad()
    return step_losses
