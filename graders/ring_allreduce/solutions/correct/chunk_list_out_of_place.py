"""Correct, written a third way: chunk boundaries by hand, a list of separate chunk tensors
replaced out of place at every step (no views, no in-place adds), and buckets reduced as soon
as they close while walking the gradients, rather than planned first."""

import torch


def _bounds(numel, world_size):
    # the first numel % world_size chunks one element longer, as torch.tensor_split cuts
    base, extra = divmod(numel, world_size)
    out, start = [], 0
    for i in range(world_size):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def ring_allreduce(rank, world_size, tensor, comm):
    flat = tensor.detach().flatten()                                   # (numel,)
    chunks = [flat[a:b].clone() for a, b in _bounds(flat.numel(), world_size)]
    nxt, prv = (rank + 1) % world_size, (rank + world_size - 1) % world_size
    for s in range(world_size - 1):                    # reduce-scatter
        comm.send(nxt, chunks[(rank - s) % world_size])
        c = (rank - s - 1) % world_size
        chunks[c] = chunks[c] + comm.recv(prv)         # a new tensor: the list entry is all that holds it
    for s in range(world_size - 1):                    # all-gather
        comm.send(nxt, chunks[(rank + 1 - s) % world_size])
        chunks[(rank - s) % world_size] = comm.recv(prv)
    return torch.cat(chunks).reshape(tensor.shape)


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    out = [None] * len(grads)

    def flush(bucket):
        total = torch.div(ring_allreduce(rank, world_size, torch.cat([grads[i].flatten() for i in bucket]), comm),
                          world_size)
        for i, part in zip(bucket, torch.split(total, [grads[i].nelement() for i in bucket])):
            out[i] = part.reshape(grads[i].shape)

    pending, pending_bytes = [], 0
    for i in range(len(grads) - 1, -1, -1):            # DDP's order: the last gradient first
        size = grads[i].nelement() * grads[i].element_size()
        if pending and pending_bytes + size > bucket_cap_bytes:
            flush(pending)
            pending, pending_bytes = [], 0
        pending.append(i)
        pending_bytes += size
    if pending:
        flush(pending)
    return out
