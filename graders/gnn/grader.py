"""Host side of gnn: the graphs, the trusted answer, and the comparison.

A case's graph is drawn from its seed (make_inputs says how); both layers run on it.
The trusted answer is float64 torch on the host, computed another way than any
scatter: the normalised adjacency as a coalesced sparse matrix (duplicates summed
by coalesce) and autograd through a sparse-dense product, rounded once to the
case's dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

PARAMS = {"gcn": ("weight", "bias"), "mean": ("lin_root.weight", "lin_neigh.weight", "bias")}


def make_graph(p: dict, g: torch.Generator) -> torch.Tensor:
    """(2, E) int64. params: N; E random edges between distinct nodes among the first
    N - isolated (so the last `isolated` nodes have no edge at all); undirected adds each
    reversed; self_loops adds that many self-loops on random nodes, the first node's twice;
    dup adds that many copies of random edges; sources_only makes node 0 point out and
    never be pointed at. Columns shuffled."""
    n, e = int(p["N"]), int(p.get("E", 0))
    live = n - int(p.get("isolated", 0))
    parts = []
    if e and live >= 2:
        src = torch.randint(live, (e,), generator=g)
        dst = (src + torch.randint(1, live, (e,), generator=g)) % live       # never src itself
        if p.get("sources_only"):
            keep = dst != 0                                                 # nothing points at node 0
            src, dst = src[keep], dst[keep]
        parts.append(torch.stack([src, dst]))
        if p.get("undirected"):
            parts.append(torch.stack([dst, src]))
    loops = int(p.get("self_loops", 0))
    if loops:
        nodes = torch.randint(max(live, 1), (loops,), generator=g)
        # always one node listed twice: the README counts both, one loop a node (PyG's rule) would not
        nodes[1:2] = nodes[:1]
        parts.append(torch.stack([nodes, nodes]))
    edges = torch.cat(parts, dim=1) if parts else torch.zeros((2, 0), dtype=torch.int64)
    dup = int(p.get("dup", 0))
    if dup and edges.shape[1]:
        edges = torch.cat([edges, edges[:, torch.randint(edges.shape[1], (dup,), generator=g)]], dim=1)
    return edges[:, torch.randperm(edges.shape[1], generator=g)].contiguous()


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    g = torch.Generator().manual_seed(seed)
    n, f_in, f_out = int(p["N"]), int(p["F_in"]), int(p["F_out"])
    inputs: dict[str, Any] = {"edge_index": make_graph(p, g),
                              "x": torch.randn(n, f_in, generator=g, dtype=torch.float64),
                              "dy": torch.randn(n, f_out, generator=g, dtype=torch.float64)}
    for kind in p["layers"]:
        for name in PARAMS[kind]:
            if name == "bias":
                if p.get("bias", True):
                    inputs[f"{kind}.param.bias"] = torch.randn(f_out, generator=g, dtype=torch.float64)
            else:
                inputs[f"{kind}.param.{name}"] = torch.randn(f_out, f_in, generator=g, dtype=torch.float64) / f_in ** 0.5
    return inputs


def _sparse(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n), dtype=torch.float64,
                                   check_invariants=True).coalesce()


def gcn_matrix(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """D^-1/2 Â D^-1/2, Â = A + a self-loop where a node has none (README), sparse float64."""
    src, dst = edge_index
    has_loop = torch.zeros(n, dtype=torch.bool)
    has_loop[src[src == dst]] = True
    extra = torch.arange(n)[~has_loop]
    rows, cols = torch.cat([dst, extra]), torch.cat([src, extra])   # row = target i, column = source j
    a_hat = _sparse(rows, cols, torch.ones(rows.numel(), dtype=torch.float64), n)
    deg = torch.sparse.sum(a_hat, dim=1).to_dense()                 # >= 1 for every node
    i, j = a_hat.indices()
    return _sparse(i, j, a_hat.values() / (deg[i] * deg[j]).sqrt(), n)


def mean_matrix(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """Row i averages the sources of i's incoming edges (repeats counted); empty rows stay 0."""
    src, dst = edge_index
    indeg = torch.zeros(n, dtype=torch.float64).index_put_((dst,), torch.ones(dst.numel(), dtype=torch.float64),
                                                            accumulate=True)
    return _sparse(dst, src, 1.0 / indeg[dst], n)


def reference_layer(kind: str, x: torch.Tensor, edge_index: torch.Tensor, weights: dict[str, torch.Tensor]):
    n = x.shape[0]
    if kind == "gcn":
        out = torch.sparse.mm(gcn_matrix(edge_index, n), x @ weights["weight"].T)
    else:
        out = x @ weights["lin_root.weight"].T + torch.sparse.mm(mean_matrix(edge_index, n), x) @ weights["lin_neigh.weight"].T
    return out + weights["bias"] if "bias" in weights else out


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    dtype = getattr(torch, p["dtype"])
    # the candidate works on inputs rounded to the case's dtype: so does the answer, in float64
    x0 = inputs["x"].to(dtype).double()
    want: dict[str, Any] = {}
    for kind in p["layers"]:
        prefix = f"{kind}.param."
        weights = {k[len(prefix):]: v.to(dtype).double().clone().requires_grad_(True)   # not the host's copy
                   for k, v in inputs.items() if k.startswith(prefix)}
        x = x0.clone().requires_grad_(True)
        out = reference_layer(kind, x, inputs["edge_index"], weights)
        out.backward(inputs["dy"].to(dtype).double())
        want[f"{kind}.out"] = out.detach().to(dtype)
        want[f"{kind}.grad.x"] = x.grad.to(dtype)
        for name in sorted(weights):
            want[f"{kind}.grad.{name}"] = weights[name].grad.to(dtype)
    return want


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances[case.params["dtype"]]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in want:   # outputs first, then gradients: the first wrong one explains the rest
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=torch.Tensor)
    return result
