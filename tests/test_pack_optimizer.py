"""Host-side tests of the optimizer pack: its inputs, trusted answer (torch itself), check and driver.

Everything runs in-process on trusted code (our reference, known solutions and
torch's own optimiser); the sandboxed path, rules included, is covered by
tests/test_packs.py's validate run.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from dlverify.packs.cases import Case
from dlverify.gpu.workload import workload
from dlverify.screening.static_rules import violations

EXERCISE = "optimizer"
SEED = 20261204


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_optimizer_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_inputs(inputs: dict) -> dict:
    return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def graded(pack, ctx, module, case: Case, seed: int = SEED):
    inputs = pack.grader.make_inputs(case, seed)
    want = pack.grader.expected(case, inputs, ctx)
    outputs = ctx.driver.run(module, case.params, copy_inputs(inputs), "cpu")
    return pack.grader.check(case, inputs, outputs, want, ctx)


@pytest.fixture(scope="module")
def frozen_run(pack, ctx):
    case = by_name(pack, "frozen_group_and_intermittent_grads")
    inputs = pack.grader.make_inputs(case, SEED)
    return case, inputs, pack.grader.expected(case, inputs, ctx)


# --- make_inputs ---------------------------------------------------------------------------

def test_inputs_follow_the_seed(pack):
    case = by_name(pack, "two_groups_float32")
    a, b, c = (pack.grader.make_inputs(case, s) for s in (1, 1, 2))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["noise.w1"], c["noise.w1"])
    assert a["init.w1"].shape == (8, 6) and a["noise.w1"].shape == (case.params["steps"], 8, 6)


# --- the oracle is torch, and the reference is it to the bit --------------------------------

@pytest.mark.parametrize("name", ["two_groups_float32", "float64_clip_triggers", "save_and_load_midway",
                                  "frozen_group_and_intermittent_grads", "tiny_gradients_eps_matters"])
def test_reference_matches_torch_exactly(pack, ctx, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    got = ctx.driver.run(ctx.reference, case.params, copy_inputs(inputs), "cpu")
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want), name


def test_expected_schedule_is_the_readme_formula(pack, frozen_run):
    case, _, want = frozen_run
    p = case.params
    lrs = want["lrs"]
    assert lrs.shape == (p["steps"], len(p["groups"]))
    base = p["lr"]
    assert lrs[0, 0] == pytest.approx(base / p["warmup_steps"])
    assert lrs[p["warmup_steps"] - 1, 0] == pytest.approx(base)
    assert lrs[p["warmup_steps"], 0] == pytest.approx(base)
    assert lrs[-1, 0] > base * p["min_lr_ratio"]          # never below the floor
    assert lrs[0, 1] == pytest.approx(p["groups"][1]["lr"] / p["warmup_steps"])   # the group's own lr


def test_lr_at_edges(ctx):
    lr_at = ctx.reference.lr_at
    assert lr_at(0, 0.1, 0, 100, 0.01) == 0.1                     # no warm-up: step 0 at base
    assert lr_at(100, 0.1, 10, 100, 0.01) == 0.01                 # past the end: the floor
    assert lr_at(55, 0.1, 10, 100, 0.01) == pytest.approx(0.055)  # halfway through the cosine
    assert lr_at(99, 0.1, 10, 100, 0.01) > 0.01


def test_a_parameter_without_gradients_never_moves(pack, frozen_run):
    _, inputs, want = frozen_run
    assert torch.equal(want["param.frozen"], inputs["init.frozen"])   # weight decay spares it too
    assert not torch.equal(want["param.gate"], inputs["init.gate"])


def test_clipping_triggers_only_where_the_case_says(pack, ctx):
    never = by_name(pack, "clip_never_triggers")
    always = by_name(pack, "float64_clip_triggers")
    n_never = pack.grader.expected(never, pack.grader.make_inputs(never, SEED), ctx)["norms"]
    n_always = pack.grader.expected(always, pack.grader.make_inputs(always, SEED), ctx)["norms"]
    assert float(n_never.max()) < never.params["max_norm"]
    assert float(n_always.min()) > always.params["max_norm"]


# --- check ---------------------------------------------------------------------------------

def test_check_passes_small_noise_and_fails_a_wrong_parameter(pack, ctx, frozen_run):
    case, inputs, want = frozen_run
    noisy = dict(want, trace=want["trace"] * (1 + 1e-12))
    assert pack.grader.check(case, inputs, noisy, want, ctx).ok
    bad = dict(want, trace=want["trace"].clone())
    bad["trace"][50, 3] += 1e-7                                   # float64: far beyond 1e-10
    result = pack.grader.check(case, inputs, bad, want, ctx)
    assert not result.ok and "step by step" in result.message


def test_check_fails_wrong_lrs_and_missing_outputs(pack, ctx, frozen_run):
    case, inputs, want = frozen_run
    bad = dict(want, lrs=want["lrs"] * (1 + 1e-6))
    assert "learning rates" in pack.grader.check(case, inputs, bad, want, ctx).message
    missing = {k: v for k, v in want.items() if k != "norms"}
    assert "missing norms" in pack.grader.check(case, inputs, missing, want, ctx).message
    assert not pack.grader.check(case, inputs, [1.0], want, ctx).ok


# --- driver --------------------------------------------------------------------------------

def _contract_error(pack, driver, module, name="two_groups_float32") -> str:
    case = by_name(pack, name)
    with pytest.raises(Exception) as err:
        driver.run(module, case.params, pack.grader.make_inputs(case, SEED), "cpu")
    assert type(err.value).__name__ == "ContractError", err.value
    return str(err.value)


def test_driver_rejects_a_missing_entry_point(pack, ctx, driver):
    class Partial:
        AdamW = ctx.reference.AdamW
        lr_at = staticmethod(ctx.reference.lr_at)
    assert "clip_grad_norm" in _contract_error(pack, driver, Partial)


def test_driver_wants_gradients_gone_after_zero_grad(pack, ctx, driver):
    class KeepsGrads(ctx.reference.AdamW):
        def zero_grad(self):
            pass

    class Module:
        AdamW = KeepsGrads
        lr_at = staticmethod(ctx.reference.lr_at)
        clip_grad_norm = staticmethod(ctx.reference.clip_grad_norm)
    assert "zero_grad" in _contract_error(pack, driver, Module)


def test_driver_wants_a_number_from_lr_at(pack, ctx, driver):
    class Module:
        AdamW = ctx.reference.AdamW
        lr_at = staticmethod(lambda *a: "0.1")
        clip_grad_norm = staticmethod(ctx.reference.clip_grad_norm)
    assert "lr_at" in _contract_error(pack, driver, Module)


def test_driver_reloads_into_a_fresh_instance(pack, ctx, driver):
    case = by_name(pack, "save_and_load_midway")
    built, loaded = [], []

    class Counting(ctx.reference.AdamW):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

        def load_state_dict(self, sd):
            loaded.append(self)
            super().load_state_dict(sd)

    class Module:
        AdamW = Counting
        lr_at = staticmethod(ctx.reference.lr_at)
        clip_grad_norm = staticmethod(ctx.reference.clip_grad_norm)
    driver.run(Module, case.params, pack.grader.make_inputs(case, SEED), "cpu")
    assert len(built) == 2 and loaded == [built[1]]


def test_driver_samples_the_bench_trace(pack, ctx, driver):
    case = by_name(pack, "bench_cpu")
    small = replace(case, params=dict(case.params, shapes={"w1": [8, 4], "w2": [3], "b": [2]}, steps=3))
    out = driver.run(ctx.reference, small.params, pack.grader.make_inputs(small, SEED), "cpu")
    assert out["trace"].shape == (3, case.params["trace_samples"])


# --- the rules' premise: how torch.optim is caught at run time ------------------------------

def test_torch_optimisers_and_clipping_run_ops_the_rules_forbid(pack):
    seen = set()

    class Watch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(getattr(getattr(func, "overloadpacket", None), "__name__", ""))
            return func(*args, **(kwargs or {}))

    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    opt = torch.optim.AdamW([p])
    with Watch():
        opt.step()
    assert "_record_function_enter_new" in seen
    assert "_record_function_enter_new" in pack.exercise.rules.forbidden_ops
    seen.clear()
    with Watch():
        torch.nn.utils.clip_grad_norm_([p], 0.1)
    assert "_foreach_norm" in seen and "_foreach_norm" in pack.exercise.rules.forbidden_ops


def test_importing_torch_optim_is_named(pack):
    source = "from torch import optim\nimport torch.optim.lr_scheduler\nimport torch\n"
    found = violations(source, pack.exercise.rules)
    assert [rule for rule, _ in found] == ["forbidden-import", "forbidden-import"]
    assert "line 1" in found[0][1] and "line 2" in found[1][1]


# --- known solutions ------------------------------------------------------------------------

CATCHES = {
    "cosine_to_zero": "past_total_steps_floor",
    "eps_inside_sqrt": "tiny_gradients_eps_matters",
    "l2_instead_of_decoupled": "two_groups_float32",
    "no_bias_correction": "two_groups_float32",
    "per_parameter_clipping": "float64_clip_triggers",
    "shared_step_counter": "frozen_group_and_intermittent_grads",
    "state_dict_without_step": "save_and_load_midway",
    "step_off_by_one": "no_warmup_weight_decay_zero",
    "warmup_starts_at_zero": "two_groups_float32",
}
REJECTED = {"uses_torch_adamw", "torch_adamw_by_attribute", "clip_grad_norm_by_attribute"}   # rules: tests/test_packs.py's validate


def test_every_known_bad_solution_has_a_catching_case(pack):
    assert sorted(p.stem for p in pack.solutions("wrong")) == sorted(set(CATCHES) | REJECTED)


@pytest.mark.parametrize("stem", sorted(CATCHES))
def test_known_bad_solution_fails_its_case(pack, ctx, stem):
    path = next(p for p in pack.solutions("wrong") if p.stem == stem)
    case = by_name(pack, CATCHES[stem])
    assert not graded(pack, ctx, load_solution(path), case).ok


def test_known_good_solutions_pass_every_cpu_check_case(pack, ctx):
    modules = {path.name: load_solution(path) for path in pack.solutions("correct")}
    assert len(modules) >= 2
    for case in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(case, SEED)
        want = pack.grader.expected(case, inputs, ctx)
        for name, module in modules.items():
            outputs = ctx.driver.run(module, case.params, copy_inputs(inputs), "cpu")
            result = pack.grader.check(case, inputs, outputs, want, ctx)
            assert result.ok, f"{name} / {case.name}: {result.message}"


# --- workload -------------------------------------------------------------------------------

def test_workload_counts_every_element_of_every_step(pack):
    p = by_name(pack, "bench_cpu").params
    work = workload(EXERCISE, p)
    numel = 2 * 512 * 1024 + 1024
    assert work.bytes == 7 * 4 * numel * p["steps"] and work.bound == "memory" and work.steps == p["steps"]
    assert work.flops == 17.0 * numel * p["steps"]
    assert math.isfinite(work.intensity)


@pytest.mark.parametrize("source", [
    "import torch\ns = torch.optim.lr_scheduler.CosineAnnealingLR\n",
    "import torch as t\nopt = t.optim.AdamW\n",
    "from torch import nn\nclip = nn.utils.clip_grad_norm_\n",
])
def test_reaching_a_forbidden_module_by_attribute_is_rejected_before_it_runs(pack, source):
    """A scheduler reached as torch.optim.lr_scheduler ran no op the run-time rules see."""
    found = violations(source, pack.exercise.rules)
    assert found and found[0][0] == "forbidden-import" and "by attribute" in found[0][1]


def test_attributes_of_allowed_modules_are_fine(pack):
    assert violations("import torch\nm = torch.nn.Linear(2, 2)\nx = torch.zeros(3)\n", pack.exercise.rules) == []
