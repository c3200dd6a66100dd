# WRONG(rejected): imports torch.distributed, whose collectives are the exercise
"""ring_allreduce, known wrong: torch.distributed's all_reduce."""

import torch.distributed as dist


def ring_allreduce(rank, world_size, tensor, comm):
    dist.all_reduce(tensor)
    return tensor
