"""Correct, written another way: chunk boundaries computed as offsets and the sums done in
place on views of one flat buffer; the buckets planned first, then reduced one by one."""

import torch


def bounds(numel, n):
    base, extra = divmod(numel, n)
    starts = [i * base + min(i, extra) for i in range(n + 1)]
    return [(starts[i], starts[i + 1]) for i in range(n)]


def ring_allreduce(rank, world_size, tensor, comm):
    flat = tensor.reshape(-1).clone()
    if world_size == 1:
        return flat.reshape(tensor.shape)
    span = bounds(flat.numel(), world_size)
    nxt, prv = (rank + 1) % world_size, (rank + world_size - 1) % world_size
    for step in range(world_size - 1):
        a, b = span[(rank - step) % world_size]
        comm.send(nxt, flat[a:b])
        c, d = span[(rank - step - 1) % world_size]
        flat[c:d].add_(comm.recv(prv))
    for step in range(world_size - 1):
        a, b = span[(rank + 1 - step) % world_size]
        comm.send(nxt, flat[a:b])
        c, d = span[(rank - step) % world_size]
        flat[c:d].copy_(comm.recv(prv))
    return flat.reshape(tensor.shape)


def plan(sizes, cap):
    groups, current, used = [], [], 0
    for i in range(len(sizes) - 1, -1, -1):
        if current and used + sizes[i] <= cap:
            current.append(i)
            used += sizes[i]
            continue
        if current:
            groups.append(current)
        current, used = [i], sizes[i]
    if current:
        groups.append(current)
    return groups


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    result = list(grads)
    for group in plan([g.numel() * g.element_size() for g in grads], bucket_cap_bytes):
        buffer = torch.cat([grads[i].flatten() for i in group])
        summed = ring_allreduce(rank, world_size, buffer, comm)
        summed.div_(world_size)
        pieces = torch.split(summed, [grads[i].numel() for i in group])
        for i, piece in zip(group, pieces):
            result[i] = piece.view(grads[i].shape).clone()
    return result
