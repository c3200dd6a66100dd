"""Host-side tests of the gnn pack: the graphs, the trusted answer, the check, the rules' premise.

In-process on trusted code; the sandboxed path (every known solution) is tests/test_packs.py.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from dlverify import paths
from dlverify.gpu.workload import workload
from dlverify.packs import registry
from dlverify.packs.cases import Case
from dlverify.packs.loading import load_pack
from dlverify.screening.static_rules import violations

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
    """out, and every gradient as autograd finds it through the dense formula (the grader's own go
    through a sparse matrix product)."""
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for kind in c.params["layers"]:
        w = {k.split(".param.", 1)[1]: v.clone().requires_grad_(True)
             for k, v in inputs.items() if k.startswith(f"{kind}.param.")}
        x = inputs["x"].clone().requires_grad_(True)
        got = dense_answer(kind, x, inputs["edge_index"], w)
        got.backward(inputs["dy"])
        assert torch.allclose(want[f"{kind}.out"], got.detach(), atol=1e-12, rtol=1e-12), (name, kind)
        for key, leaf in [("x", x), *w.items()]:
            assert torch.allclose(want[f"{kind}.grad.{key}"], leaf.grad, atol=1e-12, rtol=1e-12), (name, kind, key)


def test_the_trusted_answer_on_a_graph_worked_by_hand(pack, ctx):
    """3 nodes, edges 0->1 twice, 2->1, 1->1 twice; x = I, the maps in use I (or 0), no bias.
    GCN: node 1 keeps its two listed loops (no third), deg = [1, 2 + 2 + 1, 1], so
    out_1 = 2 x_0 / sqrt(5) + 2 x_1 / 5 + x_2 / sqrt(5); nodes 0 and 2 have only the added loop.
    Mean: node 1's neighbours as listed, 0, 0, 2, 1, 1: (2 x_0 + 2 x_1 + x_2) / 5; the others none."""
    eye = torch.eye(3, dtype=torch.float64)
    c = Case("by_hand", {"layers": ["gcn", "mean"], "N": 3, "F_in": 3, "F_out": 3, "bias": False,
                         "dtype": "float64"}, seed=0)
    inputs = {"edge_index": torch.tensor([[0, 0, 2, 1, 1], [1, 1, 1, 1, 1]]), "x": eye.clone(),
              "dy": torch.ones(3, 3, dtype=torch.float64), "gcn.param.weight": eye.clone(),
              "mean.param.lin_root.weight": torch.zeros(3, 3, dtype=torch.float64),
              "mean.param.lin_neigh.weight": eye.clone()}
    want = pack.grader.expected(c, inputs, ctx)
    r5 = 5 ** -0.5
    gcn = torch.tensor([[1, 0, 0], [2 * r5, 0.4, r5], [0, 0, 1]], dtype=torch.float64)
    assert torch.allclose(want["gcn.out"], gcn, atol=1e-15)
    mean = torch.tensor([[0, 0, 0], [0.4, 0.4, 0.2], [0, 0, 0]], dtype=torch.float64)
    assert torch.allclose(want["mean.out"], mean, atol=1e-15)


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
    undirected = g(case(pack, "small_undirected"), SEED)["edge_index"]
    assert sorted(undirected.T.tolist()) == sorted(undirected.flip(0).T.tolist())
    one = g(case(pack, "single_node_with_a_self_loop"), SEED)
    assert one["edge_index"].tolist() == [[0], [0]] and one["x"].shape[0] == 1
    assert "gcn.param.bias" not in g(case(pack, "no_bias"), SEED)


def test_the_seed_decides_the_inputs(pack):
    c = case(pack, "float32_mixed_graph")
    a, b, other = (pack.grader.make_inputs(c, s) for s in (SEED, SEED, SEED + 1))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["edge_index"], other["edge_index"])


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
                    {k: v[:1] for k, v in want.items()}, {k: v.tolist() for k, v in want.items()},
                    {**want, "mean.grad.bias": torch.full_like(want["mean.grad.bias"], float("nan"))}):
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


@pytest.mark.parametrize("name, atol", [("small_undirected", 1e-9), ("float32_mixed_graph", 1e-4)])
def test_check_holds_the_readmes_precision(pack, ctx, name, atol):
    """README: float64 atol = rtol = 1e-9, float32 1e-4, on out and every gradient alike."""
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for key in ("gcn.out", "mean.grad.lin_neigh.weight"):
        bound = atol + atol * want[key].abs()                   # |got - want| <= atol + rtol |want|
        inside = pack.grader.check(c, inputs, {**want, key: want[key] + 0.5 * bound}, want, ctx)
        outside = pack.grader.check(c, inputs, {**want, key: want[key] + 2.0 * bound}, want, ctx)
        assert inside.ok, (key, inside.message)
        assert not outside.ok and outside.message.startswith(key), (key, outside.message)


def _contract_breach(pack, ctx, gcn=None, mean=None) -> str:
    """The ContractError the driver raises for a submission built from the reference's layers."""
    module = type("Solution", (), {"GCNConv": gcn or ctx.reference.GCNConv, "MeanConv": mean or ctx.reference.MeanConv})
    if gcn is False:
        del module.GCNConv
    c = case(pack, "directed_edges")
    with pytest.raises(Exception) as raised:
        ctx.driver.run(module, c.params, pack.grader.make_inputs(c, SEED), "cpu")
    assert type(raised.value).__name__ == "ContractError", raised.value   # the candidate's failure
    return str(raised.value)


def test_the_driver_holds_the_contract(pack, ctx):
    ref = ctx.reference

    class OldNames(torch.nn.Module):                    # the gnn branch's weight_self / weight_neigh
        def __init__(self, fin, fout, bias=True):
            super().__init__()
            self.weight_self = torch.nn.Parameter(torch.zeros(fout, fin))
            self.weight_neigh = torch.nn.Parameter(torch.zeros(fout, fin))
            self.bias = torch.nn.Parameter(torch.zeros(fout)) if bias else None

    class Transposed(ref.GCNConv):
        def __init__(self, fin, fout, bias=True):
            super().__init__(fin, fout, bias)
            self.weight = torch.nn.Parameter(torch.zeros(fin, fout))

    def forward_then(change):
        return type("Changed", (ref.GCNConv,), {"forward": lambda self, x, e: change(ref.GCNConv.forward(self, x, e), e)})

    assert "does not define GCNConv" in _contract_breach(pack, ctx, gcn=False)
    assert "lin_root.weight" in _contract_breach(pack, ctx, mean=OldNames)
    assert "do not match" in _contract_breach(pack, ctx, gcn=Transposed)
    assert "not differentiable" in _contract_breach(pack, ctx, gcn=forward_then(lambda out, e: out.detach()))
    assert "returned" in _contract_breach(pack, ctx, gcn=forward_then(lambda out, e: out[:-1]))
    assert "returned" in _contract_breach(pack, ctx, gcn=forward_then(lambda out, e: out.float()))
    assert "in place" in _contract_breach(pack, ctx, gcn=forward_then(lambda out, e: (e.fill_(0), out)[1]))
    subclass = type("Lazy", (torch.Tensor,), {})
    assert "torch.Tensor" in _contract_breach(pack, ctx, gcn=forward_then(lambda out, e: out.as_subclass(subclass)))


@pytest.mark.parametrize("source", ["import torch_geometric\n", "from torch_geometric.nn import GCNConv\n",
                                    "from torch_scatter import scatter_mean\n", "import torch_sparse\n",
                                    "import dgl.function as fn\n", "import torch.sparse\n"])
def test_graph_libraries_are_rejected_before_anything_runs(pack, source):
    assert violations(source, pack.exercise.rules), source


def test_torchs_own_scatter_is_allowed(pack):
    source = ("import torch\ny = torch.zeros(3).index_add_(0, i, v)\nz = torch.zeros(3).scatter_reduce(0, i, v, 'mean')\n"
              "c = torch.bincount(i)\n")
    assert violations(source, pack.exercise.rules) == []


def test_the_bench_workload_counts_the_bench_graph(pack):
    """The workload model's edges are the bench graph's (undirected: both ways) plus a loop a node."""
    p = dict(case(pack, "bench_cpu").params, N=300, E=900)      # the same kind of graph, quicker to draw
    edges = pack.grader.make_inputs(Case("small_bench", p), SEED)["edge_index"].shape[1] + p["N"]
    dense = 2.0 * p["N"] * p["F_in"] * p["F_out"]
    work = workload("gnn", p)
    assert work.flops == 3.0 * (3 * dense + 2.0 * edges * (p["F_in"] + p["F_out"]))
    assert work.bound == "memory" and work.bytes > 16 * edges
