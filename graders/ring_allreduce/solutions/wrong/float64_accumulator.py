# WRONG(failed): accumulates in float64 "for safety" and casts back: int64 values past 2**53 lose their low digits
"""ring_allreduce, known wrong: a float64 work buffer for every dtype. Right for floats (the
grader's own answer is the float64 sum rounded once), wrong for large int64 values."""

import torch


def ring_allreduce(rank, world_size, tensor, comm):
    flat = tensor.reshape(-1).to(torch.float64)        # (numel,) float64 work buffer: the bug for int64
    chunks = flat.tensor_split(world_size)
    right, left = (rank + 1) % world_size, (rank - 1) % world_size
    for step in range(world_size - 1):
        comm.send(right, chunks[(rank - step) % world_size].to(tensor.dtype))
        chunks[(rank - step - 1) % world_size].add_(comm.recv(left).to(torch.float64))
    for step in range(world_size - 1):
        comm.send(right, chunks[(rank + 1 - step) % world_size].to(tensor.dtype))
        chunks[(rank - step) % world_size].copy_(comm.recv(left).to(torch.float64))
    return flat.to(tensor.dtype).view(tensor.shape)


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
