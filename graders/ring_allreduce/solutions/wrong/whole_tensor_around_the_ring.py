# WRONG(failed): passes the whole tensor around the ring N - 1 times: right sums, (N - 1) / 2 times the ring's bytes per rank... and more
"""ring_allreduce, known wrong: a ring that forwards whole tensors instead of chunks."""

import torch


def ring_allreduce(rank, world_size, tensor, comm):
    total = tensor.clone()
    passing = tensor.clone()
    for _ in range(world_size - 1):
        comm.send((rank + 1) % world_size, passing)
        passing = comm.recv((rank - 1) % world_size)
        total += passing
    return total


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    return [ring_allreduce(rank, world_size, g, comm) / world_size for g in grads]
