# WRONG(failed): adds out of place into a list of views (chunks[c] = chunks[c] + received) and returns the buffer the views came from, so the sums never reach it
"""ring_allreduce, known wrong: the reduce-scatter rebinds a list entry instead of adding into the
view, so the flat buffer it returns keeps this rank's own values where the complete chunk should be."""

import torch


def ring_allreduce(rank, world_size, tensor, comm):
    flat = tensor.reshape(-1).clone()                  # (numel,) the buffer returned
    chunks = list(flat.tensor_split(world_size))       # views of flat
    right, left = (rank + 1) % world_size, (rank - 1) % world_size
    for step in range(world_size - 1):
        comm.send(right, chunks[(rank - step) % world_size])
        c = (rank - step - 1) % world_size
        chunks[c] = chunks[c] + comm.recv(left)        # the bug: a new tensor, flat unchanged
    for step in range(world_size - 1):
        comm.send(right, chunks[(rank + 1 - step) % world_size])
        chunks[(rank - step) % world_size].copy_(comm.recv(left))
    return flat.view(tensor.shape)


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    groups, size = [], 0
    for i in reversed(range(len(grads))):
        nbytes = grads[i].numel() * grads[i].element_size()
        if groups and size + nbytes <= bucket_cap_bytes:
            groups[-1].append(i)
            size += nbytes
        else:
            groups.append([i])
            size = nbytes
    out = [None] * len(grads)
    for group in groups:
        mean = ring_allreduce(rank, world_size, torch.cat([grads[i].reshape(-1) for i in group]), comm) / world_size
        offset = 0
        for i in group:
            k = grads[i].numel()
            out[i] = mean[offset:offset + k].reshape(grads[i].shape)
            offset += k
    return out
