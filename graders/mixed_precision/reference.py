"""Reference mixed-precision training loop: PyTorch's AMP recipe, written out plainly.

Trusted: the host runs it (through the driver) to get the answer every
submission is compared with, so it favours the obvious order of operations.
"""

from __future__ import annotations

import torch


def train_mixed_precision(
    model,
    optimizer,
    batches,
    loss_fn,
    *,
    device_type,
    dtype,
    accum_steps=1,
    max_grad_norm=None,
    scaler=None,
):
    losses = []
    for start in range(0, len(batches), accum_steps):
        group = batches[start:start + accum_steps]
        # A partial last group is averaged over its real size, not accum_steps,
        # so its gradient is the mean gradient of the micro-batches it holds.
        group_size = len(group)
        total = 0.0
        for x, y in group:
            # Matmuls run in `dtype`; cross_entropy is on autocast's float32 list,
            # so the loss itself comes out float32.
            with torch.autocast(device_type, dtype=dtype):
                loss = loss_fn(model(x), y)
            total += loss.item()
            loss = loss / group_size
            if scaler is not None:
                # Scaled so small fp16 gradients do not flush to zero on the way back.
                scaler.scale(loss).backward()
            else:
                loss.backward()

        if scaler is not None:
            # Gradients back to their true size before clipping measures their norm;
            # unscale_ also records whether any is inf/NaN.
            scaler.unscale_(optimizer)
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            scaler.step(optimizer)  # skipped when unscale_ found inf/NaN
            scaler.update()         # and then the scale is backed off
        else:
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(total / group_size)
    return losses
