# WRONG(failed): returns one loss per micro-batch instead of one mean loss per optimizer step
import torch


def train_mixed_precision(model, optimizer, batches, loss_fn, *, device_type, dtype,
                          accum_steps=1, max_grad_norm=None, scaler=None):
    losses = []
    for start in range(0, len(batches), accum_steps):
        group = batches[start:start + accum_steps]
        for x, y in group:
            with torch.autocast(device_type, dtype=dtype):
                loss = loss_fn(model(x), y)
            losses.append(loss.item())
            loss = loss / len(group)
            if scaler is not None:
                scaler.scale(loss).backward()
            else:
                loss.backward()
        if scaler is not None:
            scaler.unscale_(optimizer)
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return losses
