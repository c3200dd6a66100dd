"""Host-side tests of the attention pack: its inputs, trusted answer, check and driver.

The trusted answer is cross-checked against torch's own attention in float64
(scaled_dot_product_attention, nn.MultiheadAttention) wherever torch defines
one; the sandboxed path is covered by test_packs.py.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from dlverify.packs.cases import Case
from ops_seen import ops_seen

EXERCISE = "attention"
SEED = 20240611


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_attention_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_inputs(inputs: dict) -> dict:
    return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def attention_cases(pack):
    return [c for c in pack.cases if c.kind == "check" and c.params["entry"] == "attention"]


def mhsa_cases(pack):
    return [c for c in pack.cases if c.kind == "check" and c.params["entry"] == "mhsa"]


def in_float64(case: Case, backward: bool | None = None) -> Case:
    params = {**case.params, "dtype": "float64"}
    if backward is not None:
        params["backward"] = backward
    return replace(case, params=params)


def allowed_pairs(params: dict, inputs: dict) -> torch.Tensor:
    """(B, H, Lq, Lk) bool, built here from the contract, not from the grader."""
    B, H, Lq, _ = inputs["q"].shape
    Lk = inputs["k"].shape[-2]
    allowed = torch.ones(B, H, Lq, Lk, dtype=torch.bool)
    if params["causal"]:
        allowed &= torch.ones(Lq, Lk, dtype=torch.bool).tril()  # same as is_causal=True
    if "attn_mask" in inputs:
        allowed &= inputs["attn_mask"]
    return allowed


CASE_NAMES = [
    "f32_plain", "f32_causal_fewer_queries", "f32_causal_more_queries", "f32_mask_full_with_empty_rows",
    "f32_mask_broadcast_qk", "f32_mask_broadcast_key_padding", "f32_causal_and_mask", "f32_large_scores",
    "f16_causal_and_mask", "bf16_backward_causal", "mhsa_f32_backward_causal_left_padding", "mhsa_bf16_causal",
]


# --- make_inputs ---------------------------------------------------------------------------

def test_inputs_follow_the_seed(pack):
    for case in (by_name(pack, "f32_mask_full_with_empty_rows"), by_name(pack, "mhsa_f32_key_padding")):
        a, b = pack.grader.make_inputs(case, 1), pack.grader.make_inputs(case, 1)
        c = pack.grader.make_inputs(case, 2)
        assert a.keys() == b.keys() == c.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not all(torch.equal(a[k], c[k]) for k in a)


def test_attention_inputs_have_the_case_shapes_and_dtypes(pack):
    for case in attention_cases(pack):
        p = case.params
        inputs = pack.grader.make_inputs(case, SEED)
        dtype = getattr(torch, p["dtype"])
        Dv = p.get("Dv", p["D"])
        assert inputs["q"].shape == (p["B"], p["H"], p["Lq"], p["D"]), case.name
        assert inputs["k"].shape == (p["B"], p["H"], p["Lk"], p["D"]), case.name
        assert inputs["v"].shape == (p["B"], p["H"], p["Lk"], Dv), case.name
        assert all(inputs[n].dtype == dtype and type(inputs[n]) is torch.Tensor for n in "qkv"), case.name
        assert ("grad_out" in inputs) == p.get("backward", False), case.name
        if "grad_out" in inputs:
            assert inputs["grad_out"].shape == (p["B"], p["H"], p["Lq"], Dv) and inputs["grad_out"].dtype == dtype
        kind = p.get("mask", "none")
        assert ("attn_mask" in inputs) == (kind != "none"), case.name
        if kind != "none":
            mask = inputs["attn_mask"]
            assert mask.dtype == torch.bool
            assert mask.shape == {"full": (p["B"], p["H"], p["Lq"], p["Lk"]), "qk": (p["Lq"], p["Lk"]),
                                  "key": (p["B"], 1, 1, p["Lk"])}[kind], case.name
            assert mask.any() and not mask.all(), case.name


def test_mhsa_inputs_have_the_case_shapes_and_dtypes(pack):
    for case in mhsa_cases(pack):
        p = case.params
        inputs = pack.grader.make_inputs(case, SEED)
        E, dtype = p["E"], getattr(torch, p["dtype"])
        shapes = {"qkv.weight": (3 * E, E), "proj.weight": (E, E), "x": (p["B"], p["T"], E)}
        if p["bias"]:
            shapes.update({"qkv.bias": (3 * E,), "proj.bias": (E,)})
        if p.get("backward", False):
            shapes["grad_out"] = (p["B"], p["T"], E)
        if p.get("padding", "none") != "none":
            shapes["key_padding_mask"] = (p["B"], p["T"])
        assert {k: tuple(v.shape) for k, v in inputs.items()} == shapes, case.name
        for name, value in inputs.items():
            assert value.dtype == (torch.bool if name == "key_padding_mask" else dtype), (case.name, name)
        if "key_padding_mask" in inputs:
            pad = inputs["key_padding_mask"]
            assert pad.any() and not pad.all(dim=1).any(), case.name  # some padding, never a whole sequence


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_empty_row_cases_have_rows_that_attend_nothing(pack, seed):
    cases = [c for c in attention_cases(pack) if c.params.get("empty_rows")]
    assert len(cases) >= 3
    for case in cases:
        inputs = pack.grader.make_inputs(case, seed)
        has_key = allowed_pairs(case.params, inputs).any(dim=-1)
        assert not has_key.all(), case.name  # at least one row sees no key...
        assert has_key.any(), case.name      # ...and not all of them
    # causal with left padding: the first query rows of a padded sequence see only padding
    case = by_name(pack, "mhsa_f32_backward_causal_left_padding")
    pad = pack.grader.make_inputs(case, seed)["key_padding_mask"]
    assert pad[:, 0].any()


def test_large_scores_overflow_a_naive_exp(pack):
    inputs = pack.grader.make_inputs(by_name(pack, "f32_large_scores"), SEED)
    scores = inputs["q"] @ inputs["k"].transpose(-2, -1) / inputs["q"].shape[-1] ** 0.5
    assert not torch.isfinite(torch.exp(scores)).all()


# --- expected: agrees with torch's own attention in float64 ---------------------------------

@pytest.mark.parametrize("name", [n for n in CASE_NAMES if not n.startswith("mhsa")])
def test_expected_matches_torch_sdpa_in_float64(pack, ctx, name):
    case = in_float64(by_name(pack, name), backward=True)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    allowed = allowed_pairs(case.params, inputs)
    has_key = allowed.any(dim=-1)  # (B, H, Lq); torch gives NaN on rows without a key

    q, k, v = (inputs[n].clone().requires_grad_() for n in "qkv")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    grad_out = inputs["grad_out"] * has_key[..., None]
    torch.where(has_key[..., None], out, 0.0).backward(grad_out)

    assert want["out"].dtype == torch.float64
    torch.testing.assert_close(want["out"][has_key], out.detach()[has_key], atol=1e-12, rtol=1e-12)
    assert torch.equal(want["out"][~has_key], torch.zeros_like(want["out"][~has_key]))
    if has_key.all():  # torch's gradients are defined everywhere only without empty rows
        for n, t in (("dq", q), ("dk", k), ("dv", v)):
            torch.testing.assert_close(want[n], t.grad, atol=1e-12, rtol=1e-12)


def test_expected_gradients_of_rows_with_no_key_are_zero(pack, ctx):
    case = in_float64(by_name(pack, "f32_backward_causal_mask_empty_rows"))
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    has_key = allowed_pairs(case.params, inputs).any(dim=-1)
    assert (~has_key).any()
    assert all(torch.isfinite(want[n]).all() for n in ("out", "dq", "dk", "dv"))
    assert torch.equal(want["dq"][~has_key], torch.zeros_like(want["dq"][~has_key]))
    # with those rows' upstream gradient zeroed, torch agrees on dk and dv everywhere
    q, k, v = (inputs[n].clone().requires_grad_() for n in "qkv")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed_pairs(case.params, inputs) | ~has_key[..., None])
    out.backward(inputs["grad_out"] * has_key[..., None])
    torch.testing.assert_close(want["dk"], k.grad, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(want["dv"], v.grad, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(want["dq"][has_key], q.grad[has_key], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", [c for c in CASE_NAMES if c.startswith("mhsa")] + ["mhsa_f32_key_padding",
                                                                                    "mhsa_f32_no_bias_causal"])
def test_expected_mhsa_matches_nn_multihead_attention_in_float64(pack, ctx, name):
    case = in_float64(by_name(pack, name), backward=True)
    p = case.params
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)

    T = p["T"]
    mha = torch.nn.MultiheadAttention(p["E"], p["H"], bias=p["bias"], batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(inputs["qkv.weight"])  # [q | k | v] rows, heads (H, D) within each
        mha.out_proj.weight.copy_(inputs["proj.weight"])
        if p["bias"]:
            mha.in_proj_bias.copy_(inputs["qkv.bias"])
            mha.out_proj.bias.copy_(inputs["proj.bias"])
    x = inputs["x"].clone().requires_grad_()
    not_causal = torch.ones(T, T, dtype=torch.bool).triu(1) if p["causal"] else None  # True = masked, for MHA
    pad = inputs.get("key_padding_mask")
    out, _ = mha(x, x, x, key_padding_mask=pad, attn_mask=not_causal, need_weights=False)

    seen = torch.ones(p["B"], T, T, dtype=torch.bool)  # (B, query, key)
    if p["causal"]:
        seen &= ~not_causal
    if pad is not None:
        seen &= ~pad[:, None, :]
    has_key = seen.any(dim=-1)  # (B, T); MHA gives NaN on rows without a key
    torch.testing.assert_close(want["out"][has_key], out.detach()[has_key], atol=1e-12, rtol=1e-12)
    # a query that sees no key: zero attention output, so only proj's bias remains
    empty = want["out"][~has_key]
    bias = inputs["proj.bias"] if p["bias"] else torch.zeros(p["E"], dtype=torch.float64)
    assert torch.equal(empty, bias.expand_as(empty))
    if has_key.all():
        out.backward(inputs["grad_out"])
        torch.testing.assert_close(want["dx"], x.grad, atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(want["dqkv.weight"], mha.in_proj_weight.grad, atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(want["dproj.weight"], mha.out_proj.weight.grad, atol=1e-12, rtol=1e-12)


def test_expected_is_rounded_to_the_case_dtype(pack, ctx):
    for case in (c for c in pack.cases if c.kind == "check"):
        inputs = pack.grader.make_inputs(case, SEED)
        want = pack.grader.expected(case, inputs, ctx)
        dtype = getattr(torch, case.params["dtype"])
        assert all(w.dtype == dtype and torch.isfinite(w).all() for w in want.values()), case.name
        names = {"out"}
        if case.params.get("backward"):
            names |= {"dq", "dk", "dv"} if case.params["entry"] == "attention" else \
                {"dx"} | {"d" + n for n in inputs if n.endswith(("weight", "bias"))}
        assert set(want) == names, case.name


def test_expected_chunks_the_batch_without_changing_the_answer(pack, ctx):
    # the big GPU timed case is checked one batch element at a time; so is everything else
    case = in_float64(by_name(pack, "f32_causal_and_mask"), backward=True)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    one = replace(case, params={**case.params, "B": 1})
    for b in range(case.params["B"]):
        sliced = {n: (t[b:b + 1] if t.dim() == 4 and t.shape[0] > 1 else t) for n, t in inputs.items()}
        part = pack.grader.expected(one, sliced, ctx)
        assert all(torch.equal(part[n][0], want[n][b]) for n in want)


def test_float32_expected_for_huge_low_precision_cases_rounds_the_same(pack, ctx, monkeypatch):
    # the GPU timed case (537M scores) is answered in float32: as good as float64 once rounded to bfloat16
    case = by_name(pack, "bf16_backward_causal")
    inputs = pack.grader.make_inputs(case, SEED)
    exact = pack.grader.expected(case, inputs, ctx)
    monkeypatch.setattr(pack.grader, "_FLOAT64_SCORE_LIMIT", 0)
    cheap = pack.grader.expected(case, inputs, ctx)
    for name, want in exact.items():
        # one bfloat16 step at most; 1e-6 where the exact answer is 0 (a row with a single key: dq = 0)
        ulp = torch.finfo(torch.bfloat16).eps * want.double().abs() + 1e-6
        assert ((cheap[name].double() - want.double()).abs() <= ulp).all(), name


# --- check ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASE_NAMES)
def test_check_accepts_the_expected_answer(pack, ctx, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    assert pack.grader.check(case, inputs, copy_inputs(want), want, ctx).ok


def _bump(t: torch.Tensor, by: float) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[t.numel() // 2] += by
    return t


class Deferred(torch.Tensor):
    pass


MUTATIONS = {
    "perturbed": (lambda w, tol: {**w, "out": _bump(w["out"], 10 * (tol.atol + tol.rtol) + 0.1)}, "outside"),
    "nan": (lambda w, tol: {**w, "out": _bump(w["out"], float("nan"))}, "NaN"),
    "inf": (lambda w, tol: {**w, "out": _bump(w["out"], float("inf"))}, "NaN or inf"),
    "float64": (lambda w, tol: {**w, "out": w["out"].double()}, "dtype"),
    "float32": (lambda w, tol: {**w, "out": w["out"].float()}, "dtype"),
    "shape": (lambda w, tol: {**w, "out": w["out"][..., :-1]}, "shape"),
    "transposed": (lambda w, tol: {**w, "out": w["out"].transpose(-2, -1).contiguous()}, "shape"),
    "missing": (lambda w, tol: {k: v for k, v in w.items() if k != "out"}, "missing"),
    "subclass": (lambda w, tol: {**w, "out": w["out"].as_subclass(Deferred)}, "expected a torch.Tensor"),
    "numpy": (lambda w, tol: {**w, "out": w["out"].float().numpy()}, "expected a torch.Tensor"),
    "zeros": (lambda w, tol: {**w, "out": torch.zeros_like(w["out"])}, "outside"),
}


@pytest.mark.parametrize("name", ["f32_mask_full_with_empty_rows", "f16_plain", "bf16_causal_key_padding",
                                  "mhsa_f32_key_padding"])
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_check_flags_a_broken_output(pack, ctx, name, mutation):
    case = by_name(pack, name)
    if mutation == "float32" and case.params["dtype"] == "float32":
        pytest.skip("already float32")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    mutate, words = MUTATIONS[mutation]
    got = mutate(copy_inputs(want), ctx.tolerances[case.params["dtype"]])
    result = pack.grader.check(case, inputs, got, want, ctx)
    assert not result.ok
    assert words in result.message


@pytest.mark.parametrize("name,grad", [("f32_backward_causal_mask_empty_rows", "dq"),
                                       ("f32_backward_odd_sizes", "dv"),
                                       ("bf16_backward_causal", "dk"),
                                       ("mhsa_f32_backward_causal_left_padding", "dqkv.weight"),
                                       ("mhsa_f32_backward_causal_left_padding", "dx")])
def test_check_flags_a_wrong_gradient(pack, ctx, name, grad):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    tol = ctx.tolerances[case.params["dtype"] + "_grad"]
    for broken in (_bump(want[grad], 10 * (tol.atol + tol.rtol) + 0.1), _bump(want[grad], float("nan"))):
        result = pack.grader.check(case, inputs, {**want, grad: broken}, want, ctx)
        assert not result.ok and result.message.startswith(grad)


def test_check_rejects_outputs_that_are_not_a_dict(pack, ctx):
    case = by_name(pack, "f32_plain")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    assert not pack.grader.check(case, inputs, [want["out"]], want, ctx).ok


def test_every_case_has_its_tolerance_tables(pack, ctx):
    for case in pack.cases:
        table = case.params.get("tolerance", case.params["dtype"])
        assert table in ctx.tolerances, case.name
        if case.params.get("backward"):
            assert table + "_grad" in ctx.tolerances, case.name
    # the ill-conditioned large-score case is the only one that widens float32
    assert ctx.tolerances["float32_large_scores"].atol > ctx.tolerances["float32"].atol


def test_tolerances_tell_the_dtypes_apart(pack, ctx):
    # float16 computation of a float32 case is caught: the expected answer rounded to float16 fails
    case = by_name(pack, "f32_plain")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    assert not pack.grader.check(case, inputs, {"out": want["out"].half().float()}, want, ctx).ok


# --- the rules name what torch really dispatches to --------------------------------------------

def test_forbidden_ops_cover_what_torch_attention_dispatches_to(pack):
    q = torch.randn(1, 2, 5, 8, requires_grad=True)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)

    def attend():
        F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
        F.scaled_dot_product_attention(q, q, q, attn_mask=torch.ones(5, 5, dtype=torch.bool)).sum().backward()
        mha(q[0], q[0], q[0])

    seen = ops_seen(attend)
    forbidden = set(pack.exercise.rules.forbidden_ops)
    fused = {name for name in seen if "attention" in name}
    assert fused, "torch's attention was not observed at all"
    assert fused <= forbidden, fused - forbidden
    assert {"scaled_dot_product_attention", "multi_head_attention_forward"} <= forbidden


def test_flex_attention_is_judged_not_a_crash(pack):
    """FlexAttention is a higher-order op: the watch must see it and reject it, not let torch raise
    NotImplementedError at a dispatch mode that knows no higher-order ops (a `failed`, not `rejected`)."""
    import warnings

    from dlverify import paths
    from dlverify.packs.loading import load_module_from_path
    from torch.nn.attention.flex_attention import flex_attention

    guards_module = load_module_from_path("_test_attention_guards", paths.sandbox_dir() / "guards.py")
    violations = []
    guards = guards_module.Guards({"forbidden_ops": list(pack.exercise.rules.forbidden_ops)},
                                  lambda rule, detail: violations.append(detail))
    q = torch.randn(1, 1, 8, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flex_attention without torch.compile warns that it is slow
        with pytest.raises(RuntimeError, match="dlverify: calling 'flex_attention'"):
            with guards.watching_call():
                flex_attention(q, q, q)
    assert violations and "'flex_attention'" in violations[0]
    # The dispatch watch alone (the function watch switched off) judges the higher-order op itself.
    violations.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="dlverify: calling 'flex_attention'"):
            with guards.watching_call(), torch._C.DisableTorchFunction():
                flex_attention(q, q, q)
    assert violations == ["higher-order op 'flex_attention' is not allowed in this exercise"]
    assert "torch.nn.attention.flex_attention" in pack.exercise.rules.forbidden_imports


# --- driver -------------------------------------------------------------------------------------

def fake(**entries):
    return SimpleNamespace(**entries)


def _attend(q, k, v):
    return (q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5).softmax(-1) @ v


@pytest.mark.parametrize("returns", [
    lambda q, k, v: _attend(q, k, v).as_subclass(Deferred),  # a Tensor subclass
    lambda q, k, v: _attend(q, k, v).detach().numpy(),       # not a tensor
    lambda q, k, v: [_attend(q, k, v)],                      # wrapped
    lambda q, k, v: _attend(q, k, v).detach(),               # not differentiable
    lambda q, k, v: _attend(q, k, v)[..., :-1],              # wrong shape
])
def test_driver_raises_contract_error(pack, driver, returns):
    case = by_name(pack, "f32_backward_odd_sizes")
    inputs = pack.grader.make_inputs(case, SEED)
    with pytest.raises(driver.ContractError):
        driver.run(fake(attention=lambda q, k, v, *, causal=False, attn_mask=None: returns(q, k, v)),
                   case.params, inputs, "cpu")


def test_driver_passes_a_plain_attention(pack, ctx, driver):
    case = by_name(pack, "f32_backward_odd_sizes")  # no mask, not causal: the naive formula is right
    inputs = pack.grader.make_inputs(case, SEED)
    outputs = driver.run(fake(attention=lambda q, k, v, *, causal=False, attn_mask=None: _attend(q, k, v)),
                         case.params, copy_inputs(inputs), "cpu")
    assert set(outputs) == {"out", "dq", "dk", "dv"}
    assert pack.grader.check(case, inputs, outputs, pack.grader.expected(case, inputs, ctx), ctx).ok


def test_driver_needs_the_entry_points(pack, driver):
    for name in ("f32_plain", "mhsa_f32_plain"):
        case = by_name(pack, name)
        with pytest.raises(driver.ContractError):
            driver.run(fake(), case.params, pack.grader.make_inputs(case, SEED), "cpu")


def test_driver_insists_on_the_parameter_names(pack, driver):
    case = by_name(pack, "mhsa_f32_plain")
    inputs = pack.grader.make_inputs(case, SEED)

    class Renamed(torch.nn.Module):
        def __init__(self, embed_dim, num_heads, bias=True):
            super().__init__()
            self.in_proj = torch.nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
            self.proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

        def forward(self, x, causal=False, key_padding_mask=None):
            return self.proj(self.in_proj(x)[..., : x.shape[-1]])

    with pytest.raises(driver.ContractError, match="in_proj.weight"):
        driver.run(fake(MultiHeadSelfAttention=Renamed), case.params, inputs, "cpu")


def test_driver_leaves_the_inputs_alone_and_returns_cpu_tensors(pack, driver):
    reference = load_solution(pack.reference_path)
    for name in ("f32_backward_causal_mask_empty_rows", "mhsa_f32_backward_causal_left_padding"):
        case = by_name(pack, name)
        inputs = pack.grader.make_inputs(case, SEED)
        kept = copy_inputs(inputs)
        outputs = driver.run(reference, case.params, inputs, "cpu")
        assert all(not t.requires_grad and t.grad is None and torch.equal(t, kept[n]) for n, t in inputs.items())
        assert all(type(t) is torch.Tensor and t.device.type == "cpu" and not t.requires_grad
                   for t in outputs.values())


# --- known solutions, in-process (they are ours: no sandbox needed) -----------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_reference_and_correct_solutions_pass_in_process(pack, ctx, driver, seed):
    failures = []
    for path in [pack.reference_path, *pack.solutions("correct")]:
        module = load_solution(path)
        for case in pack.check_cases("cpu") + pack.bench_cases("cpu"):
            inputs = pack.grader.make_inputs(case, seed * 1000 + case.seed)
            want = pack.grader.expected(case, inputs, ctx)
            result = pack.grader.check(case, inputs, driver.run(module, case.params, copy_inputs(inputs), "cpu"),
                                       want, ctx)
            if not result.ok:
                failures.append(f"{path.name} {case.name}: {result.message}")
    assert not failures, "\n".join(failures)


def test_driver_bench_call_times_the_call_alone_and_recomputes_gradients(pack, ctx, driver):
    """A GPU bench times call() only (forward and backward); collect leaves the outputs on the
    device, and a slot called again (the warm-up) gets fresh gradients, not accumulated ones."""
    from dlverify.gpu import worker_harness

    reference = load_solution(pack.reference_path)
    for name in ("f32_backward_odd_sizes", "mhsa_f32_backward_causal_left_padding"):
        case = by_name(pack, name)
        inputs = pack.grader.make_inputs(case, SEED)
        prepared, exact = worker_harness().split_call(driver, reference, case.params, inputs, "cpu")
        assert exact, name
        out = prepared.call()
        assert type(out) is torch.Tensor, name                  # the call returns the forward's tensor
        first = {k: v.clone() for k, v in prepared.collect(out).items()}
        again = prepared.collect(prepared.call())
        assert set(again) == set(first) and all(torch.equal(again[k], first[k]) for k in first), name
        assert pack.grader.check(case, inputs, again, pack.grader.expected(case, inputs, ctx), ctx).ok, name


# --- the reference's FlashAttention path (what a GPU grading times as the reference) -------------

FLASH_CHECK = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("attention_reference", sys.argv[1])
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
gen = torch.Generator().manual_seed(0)
worst = 0.0
for (B, H, Lq, Lk, D), causal, dtype in [((1, 2, 70, 70, 16), True, torch.float16),
                                         ((2, 1, 33, 90, 32), False, torch.float16),
                                         ((1, 1, 65, 40, 16), True, torch.float32)]:
    q, k, v = (torch.randn(B, H, L, D, generator=gen).to(dtype).requires_grad_() for L in (Lq, Lk, Lk))
    do = torch.randn(B, H, Lq, D, generator=gen).to(dtype)
    # on a CPU _flash_applies is False: the Function is called directly, as attention() does on a GPU
    o = ref._FlashAttention.apply(q, k, v, causal, 1.0 / D ** 0.5)
    grads = torch.autograd.grad(o, (q, k, v), do)
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    want = ref.attention(q64, k64, v64, causal=causal)          # the plain path, in float64
    want_grads = torch.autograd.grad(want, (q64, k64, v64), do.double())
    for got, exp in zip((o, *grads), (want, *want_grads)):
        scale = exp.abs().max().item() or 1.0
        worst = max(worst, ((got.double() - exp).abs().max().item()) / scale)
print(f"worst {worst:.3g}")
print("applies on cpu", ref._flash_applies(q, k, v, None))
"""


def test_the_references_flash_path_matches_its_plain_path_forward_and_backward(pack, tmp_path):
    """On a GPU the reference runs FlashAttention in Triton: here its kernels run under the
    interpreter (a child process: TRITON_INTERPRET must be set before triton is imported) and must
    agree with the reference's own plain attention, forward and every gradient."""
    import os
    import subprocess
    import sys

    script = tmp_path / "flash_check.py"
    script.write_text(FLASH_CHECK)
    env = dict(os.environ, TRITON_INTERPRET="1", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, str(script), str(pack.reference_path)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    worst = float(done.stdout.split("worst ")[1].split()[0])
    assert worst < 2e-2, done.stdout              # fp16 inputs: a few ulp of the output's size
    assert "applies on cpu False" in done.stdout  # on a CPU the grading itself takes the plain path


def test_the_references_flash_block_is_the_kernel_files(pack):
    from dlverify import paths

    def shared(text: str) -> str:
        start = text.index("\n", text.index("# --- kernels and launchers")) + 1
        return text[start:text.index("# --- end of the part shared")]

    kernel = (paths.kernels_dir() / "flash_attention.py").read_text(encoding="utf-8")
    assert shared(pack.reference_path.read_text(encoding="utf-8")) == shared(kernel)
