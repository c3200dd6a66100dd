# WRONG(failed): reduces in float32 and returns float32 whatever the input dtype
"""ring_allreduce, known wrong: reduces in float32 and returns float32 whatever the input dtype."""

import torch


def ring_allreduce(rank, world_size, tensor, comm):
    n = world_size
    if n == 1:
        return tensor.float()
    chunks = [c.float() for c in torch.tensor_split(tensor.reshape(-1), n)]
    right, left = (rank + 1) % n, (rank - 1) % n
    # reduce-scatter: after step s, rank r holds the partial sum of chunk (r - s - 1) % n over s + 2 ranks
    for step in range(n - 1):
        send_i, recv_i = (rank - step) % n, (rank - step - 1) % n
        comm.send(right, chunks[send_i])
        chunks[recv_i] += comm.recv(left)
    # all-gather: rank r now owns the full sum of chunk (r + 1) % n; pass the finished chunks on
    for step in range(n - 1):
        send_i, recv_i = (rank + 1 - step) % n, (rank - step) % n
        comm.send(right, chunks[send_i])
        chunks[recv_i] = comm.recv(left)
    return torch.cat(chunks).reshape(tensor.shape)


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    out = [None] * len(grads)
    bucket, size = [], 0
    order = list(reversed(range(len(grads))))
    groups = []
    for i in order:
        nbytes = grads[i].numel() * grads[i].element_size()
        if bucket and size + nbytes <= bucket_cap_bytes:
            bucket.append(i)
            size += nbytes
        else:
            if bucket:
                groups.append(bucket)
            bucket, size = [i], nbytes
    groups.append(bucket)
    for group in groups:
        flat = torch.cat([grads[i].reshape(-1) for i in group])
        reduced = ring_allreduce(rank, world_size, flat, comm) / world_size
        offset = 0
        for i in group:
            k = grads[i].numel()
            out[i] = reduced[offset:offset + k].reshape(grads[i].shape).to(grads[i].dtype)
            offset += k
    return out
