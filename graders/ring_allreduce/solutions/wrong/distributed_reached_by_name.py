# WRONG(failed): reaches torch.distributed with getattr and a name built at run time (past the static import rule); with no process group in the sandbox its all_reduce raises
"""ring_allreduce, known wrong: torch.distributed's all_reduce, reached as getattr(torch, name)
so that no import of it is written. Not `rejected`: the rule is the import (refusing its calls as ops
too would trip the import guard on the generated code torch runs when the op watch first imports
dynamo); no process group can be made in the sandbox (gloo needs a network), so the call raises."""

import torch

dist = getattr(torch, "distri" + "buted")


def ring_allreduce(rank, world_size, tensor, comm):
    flat = tensor.reshape(-1).clone()                  # (numel,)
    if world_size > 1:
        dist.all_reduce(flat)                          # the collective the exercise is about
    return flat.view(tensor.shape)


def bucketed_allreduce(rank, world_size, grads, comm, bucket_cap_bytes):
    flat = torch.cat([g.reshape(-1) for g in grads])
    if world_size > 1:
        dist.all_reduce(flat)
    mean = flat / world_size
    return [part.reshape(g.shape) for g, part in zip(grads, torch.split(mean, [g.numel() for g in grads]))]
