# WRONG(failed): one autocast context spans the whole loop, so its weight-cast cache keeps feeding the forward pass stale pre-step low-precision weights
import torch


def train_mixed_precision(model, optimizer, batches, loss_fn, *, device_type, dtype,
                          accum_steps=1, max_grad_norm=None, scaler=None):
    losses = []
    # The cache of low-precision copies of the weights is only cleared when the
    # outermost autocast context exits, which here is after the last step.
    with torch.autocast(device_type, dtype=dtype):
        for start in range(0, len(batches), accum_steps):
            group = batches[start:start + accum_steps]
            total = 0.0
            for x, y in group:
                loss = loss_fn(model(x), y)
                total += loss.item()
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
            losses.append(total / len(group))
    return losses
