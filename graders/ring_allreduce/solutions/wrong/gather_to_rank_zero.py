# WRONG(failed): sums on rank 0 and sends the result back: right sums, but ranks talk to rank 0, not around a ring
"""ring_allreduce, known wrong: a gather to one rank and a broadcast."""

import torch


def ring_allreduce(rank, world_size, tensor, comm):
    if world_size == 1:
        return tensor.clone()
    if rank == 0:
        total = tensor.clone()
        for src in range(1, world_size):
            total += comm.recv(src)
        for dst in range(1, world_size):
            comm.send(dst, total)
        return total
    comm.send(0, tensor)
    return comm.recv(0)


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    return [ring_allreduce(rank, world_size, g, comm) / world_size for g in grads]
