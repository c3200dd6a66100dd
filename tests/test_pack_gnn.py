"""Host-side tests of the gnn pack: the graphs, the trusted answer, the check, the rules' premise.

In-process on trusted code; the sandboxed path (every known solution) is tests/test_packs.py.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from dlverify import paths
from dlverify.packs import registry
from dlverify.packs.cases import Case
from dlverify.packs.loading import load_pack

SEED = 1234


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("gnn"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def dense_answer(kind, x, edge_index, w):
    """The README's formulas, one node at a time with a dense count matrix: slow and plain."""
    n = x.shape[0]
    a = torch.zeros(n, n, dtype=torch.float64)
    for j, i in edge_index.T.tolist():
        a[i, j] += 1                                     # edge j -> i, repeats counted
    if kind == "gcn":
        a_hat = a + torch.diag((a.diagonal() == 0).double())   # a loop only where none exists
        d = a_hat.sum(1)
        out = (a_hat / torch.sqrt(d[:, None] * d[None, :])) @ (x @ w["weight"].T)
    else:
        indeg = a.sum(1, keepdim=True)
        mean = torch.where(indeg > 0, (a @ x) / indeg.clamp(min=1), torch.zeros_like(x))
        out = x @ w["lin_root.weight"].T + mean @ w["lin_neigh.weight"].T
    return out + w["bias"] if "bias" in w else out


@pytest.mark.parametrize("name", ["directed_edges", "duplicate_edges", "self_loops_already_present",
                                  "isolated_nodes", "node_with_only_outgoing_edges", "empty_edge_set",
                                  "single_node_with_a_self_loop", "no_bias"])
def test_the_trusted_answer_is_the_readmes_formula(pack, ctx, name):
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for kind in c.params["layers"]:
        w = {k.split(".param.", 1)[1]: v for k, v in inputs.items() if k.startswith(f"{kind}.param.")}
        got = dense_answer(kind, inputs["x"], inputs["edge_index"], w)
        assert torch.allclose(want[f"{kind}.out"], got, atol=1e-12, rtol=1e-12), (name, kind)


def test_the_graphs_have_the_features_their_names_promise(pack):
    g = pack.grader.make_inputs
    dup = g(case(pack, "duplicate_edges"), SEED)["edge_index"]
    assert dup.shape[1] > torch.unique(dup, dim=1).shape[1]
    loops = g(case(pack, "self_loops_already_present"), SEED)["edge_index"]
    assert (loops[0] == loops[1]).sum() >= 1
    iso_case = case(pack, "isolated_nodes")
    iso = g(iso_case, SEED)["edge_index"]
    n, k = iso_case.params["N"], iso_case.params["isolated"]
    assert not ((iso >= n - k).any())                       # the last k nodes touch no edge
    out_only = g(case(pack, "node_with_only_outgoing_edges"), SEED)["edge_index"]
    assert (out_only[0] == 0).any() and not (out_only[1] == 0).any()
    empty = g(case(pack, "empty_edge_set"), SEED)["edge_index"]
    assert tuple(empty.shape) == (2, 0) and empty.dtype == torch.int64
    directed = g(case(pack, "directed_edges"), SEED)["edge_index"]
    pairs = set(map(tuple, directed.T.tolist()))
    assert any((j, i) not in pairs for i, j in pairs)


def test_the_reference_passes_and_a_one_line_bug_fails_in_process(pack, ctx):
    spec = importlib.util.spec_from_file_location("_gnn_wrong_left", paths.graders_dir() / "gnn" / "solutions" /
                                                  "wrong" / "left_normalisation.py")
    wrong = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wrong)
    c = case(pack, "small_undirected")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    assert pack.grader.check(c, inputs, ctx.driver.run(ctx.reference, c.params, inputs, "cpu"), want, ctx).ok
    assert not pack.grader.check(c, inputs, ctx.driver.run(wrong, c.params, inputs, "cpu"), want, ctx).ok


def test_malformed_outputs_are_the_candidates_failure_not_a_grader_error(pack, ctx):
    c = case(pack, "small_undirected")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, {**want, "extra": torch.zeros(1)}, {k: v.float() for k, v in want.items()},
                    {k: v.numpy() for k, v in want.items()}, "not a dict",
                    {k: v[:1] for k, v in want.items()}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message


def test_sparse_shortcuts_dispatch_ops_the_rules_name(pack):
    """The rules' premise: what torch.sparse does, reached by any route, is a forbidden op."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen = []

    class Watch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    i = torch.tensor([[0, 1], [1, 0]])
    with Watch():
        a = torch.sparse_coo_tensor(i, torch.ones(2), (2, 2), check_invariants=True)
        torch.sparse.mm(a, torch.ones(2, 3))
        torch.ones(2, 2).to_sparse()
    forbidden = set(pack.exercise.rules.forbidden_ops)
    assert {"_sparse_coo_tensor_with_dims_and_tensors", "_sparse_addmm"} <= set(seen)
    assert {"_sparse_coo_tensor_with_dims_and_tensors", "_sparse_addmm"} <= forbidden
    assert any(name in forbidden for name in seen if "to_sparse" in name or "sparse_coo" in name)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_node_lists_two_self_loops_whatever_the_seed(pack, seed):
    """README: listed loops are kept with their count. Counting one per node (PyG's own
    add_remaining_self_loops) differs only at a node listed twice: every graph with loops has one."""
    for c in pack.cases:
        if c.params.get("self_loops", 0) >= 2:
            e = pack.grader.make_inputs(c, seed)["edge_index"]
            assert int(torch.bincount(e[0][e[0] == e[1]]).max()) >= 2, c.name


def test_a_parameter_autograd_never_reaches_is_a_zero_gradient(pack, ctx):
    """On a graph without edges MeanConv may skip its neighbour term: lin_neigh's gradient is 0
    (autograd leaves it None), which is right, not a broken contract."""
    class SkipsEmpty(ctx.reference.MeanConv):
        def forward(self, x, edge_index):
            if edge_index.shape[1] == 0:
                return self.lin_root(x) + self.bias
            return super().forward(x, edge_index)

    c = case(pack, "empty_edge_set")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    module = type("Solution", (), {"GCNConv": ctx.reference.GCNConv, "MeanConv": SkipsEmpty})
    outputs = ctx.driver.run(module, c.params, inputs, "cpu")
    assert torch.count_nonzero(outputs["mean.grad.lin_neigh.weight"]) == 0
    assert pack.grader.check(c, inputs, outputs, want, ctx).ok
