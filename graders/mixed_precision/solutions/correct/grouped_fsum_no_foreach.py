"""Correct: groups cut up front, loss divided inside autocast, math.fsum for the mean,
clip_grad_norm_ without foreach, gradients zeroed to 0 rather than None."""

import math

import torch


def _groups(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def train_mixed_precision(model, optimizer, batches, loss_fn, *, device_type, dtype,
                          accum_steps=1, max_grad_norm=None, scaler=None):
    out = []
    for group in _groups(list(batches), accum_steps):
        raw = []
        for x, y in group:
            with torch.autocast(device_type, dtype=dtype):
                loss = loss_fn(model(x), y)
                raw.append(loss.item())
                loss = loss / len(group)
            if scaler is None:
                loss.backward()
            else:
                scaler.scale(loss).backward()
        if scaler is not None:
            scaler.unscale_(optimizer)
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_grad_norm, foreach=False)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        out.append(math.fsum(raw) / len(raw))
    return out
