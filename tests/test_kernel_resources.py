"""benchmarks/kernel_resources.py: what the Triton references compile to for sm_90, on a CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from dlverify import paths

ROOT = paths.data_root()
TOOL = ROOT / "benchmarks" / "kernel_resources.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("_test_kernel_resources", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("warps, registers, shared, want", [
    (16, 94, 1088, (1, "registers")),     # softmax's whole 32768-column row: the register file
    (8, 98, 1056, (2, "registers")),      # its online path
    (4, 20, 0, (16, "threads")),          # short rows: 2048 threads an SM
    (4, 204, 132096, (1, "shared")),      # a matmul tile: 129 KiB of stages
    (1, 16, 0, (32, "programs")),         # tiny programs: at most 32 an SM
    # As cuda_occupancy.h counts: registers go to warps within each of the 4 sub-partitions
    # (16384 each), so 2 warps of 200 registers (6400 a warp) fit 2 + 2 + 2 + 2, not 10 // 2;
    # shared memory is given in 128-byte units (14480 + 1024 rounds to 15616: 14, not 15).
    (2, 200, 0, (4, "registers")),
    (4, 32, 14480, (14, "shared")),
])
def test_programs_per_sm_follows_the_sm90_limits(tool, warps, registers, shared, want):
    assert tool.programs_per_sm(warps, registers, shared) == want


def _param(name, constexpr=False):
    return SimpleNamespace(name=name, is_constexpr=constexpr, has_default=False, default=None)


def test_arguments_are_specialised_as_the_jit_does(tool):
    fn = SimpleNamespace(__name__="k", params=[_param("x"), _param("n"), _param("one"), _param("m"),
                                              _param("scale"), _param("flag"), _param("BLOCK", True)])
    x = torch.empty(4, 4, dtype=torch.bfloat16, device="meta")
    signature, constexprs, attrs, options = tool._specialise(
        fn, (x, 4096, 1, 1000, 0.5, True), {"BLOCK": 64, "num_warps": 8, "num_stages": 2})
    assert signature == {"x": "*bf16", "n": "i32", "one": "constexpr", "m": "i32", "scale": "fp32",
                         "flag": "u1", "BLOCK": "constexpr"}  # a bool is constant only if declared so
    assert constexprs == {(2,): 1, (6,): 64}
    assert set(attrs) == {(0,), (1,)}            # the pointer and 4096, not 1000
    assert options == {"num_warps": 8, "num_stages": 2}


def test_specialisation_is_triton_s_own(tool):
    """Argument by argument, what the JIT's own specialiser (the one JITFunction.run calls)
    makes of each value: a bool not declared constexpr stays a runtime u1, 1 a constant,
    multiples of 16 divisible; and launch options other than the four usual ones pass on."""
    jit = pytest.importorskip("triton.runtime.jit")
    if not hasattr(jit, "native_specialize_impl"):
        pytest.skip("this triton has no native_specialize_impl")
    from triton.backends.compiler import BaseBackend

    x = torch.empty(4, 4, dtype=torch.float16, device="meta")
    values = (x, True, False, 1, 0, 16, -16, 1000, 2**31 - 16, 2**31, 2**40, 0.5, None)
    fn = SimpleNamespace(__name__="k", params=[_param(f"a{i}") for i in range(len(values))])
    signature, constexprs, attrs, options = tool._specialise(fn, values, {"num_warps": 4, "enable_fp_fusion": False})
    for i, v in enumerate(values):
        kind, attr = jit.native_specialize_impl(BaseBackend, v, False, True, True)
        assert signature[f"a{i}"] == kind, v
        assert ((i,) in constexprs) == (kind == "constexpr"), v
        assert attrs.get((i,), []) == (BaseBackend.parse_attr(attr) if isinstance(attr, str) else []), v
    assert options == {"num_warps": 4, "enable_fp_fusion": False}


def test_a_kernel_over_the_shared_memory_limit_fails_the_run(tool, monkeypatch, capsys):
    over = tool.Usage("k", "fp16 8x8", "BLOCK=64 warps=4 stages=9", 4, 128, 0, 300_000, 0, "shared", False)
    monkeypatch.setattr(tool, "measure", lambda names: [over])
    monkeypatch.setattr(tool, "_cuobjdump", lambda: sys.executable)  # present: any existing file
    assert tool.main(["--kernels", "triton_softmax"]) == 1
    assert "DOES NOT FIT" in capsys.readouterr().out


def test_an_unknown_kernel_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, str(TOOL), "--kernels", "softmax"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["kernel_resources: unknown kernel 'softmax' "
                                                "(known: triton_softmax, triton_matmul, flash_attention)"]


def test_softmax_compiles_for_sm90_as_its_launcher_assumes(tmp_path):
    """Every softmax launch at the bench shapes compiles for sm_90 (no GPU here), and the
    kernel's WIDE_PER_SM (its persistent grid's programs an SM) is what the online path's
    compiled registers allow: a change to either that breaks the other fails here."""
    out = tmp_path / "resources.json"
    done = subprocess.run([sys.executable, str(TOOL), "--kernels", "triton_softmax", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env={**_env(), "TRITON_INTERPRET": "1"})  # the tool turns it off
    if done.returncode == 2 and "not measured" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["target"] == "sm_90"
    kernels = record["kernels"]
    assert kernels and all(k["kernel"] == "softmax_kernel" and k["fits"] for k in kernels)
    assert all(0 < k["registers"] <= 255 and k["programs_per_sm"] >= 1 for k in kernels)
    text = (ROOT / "kernels" / "triton_softmax.py").read_text()
    loop_block = int(re.search(r"^LOOP_BLOCK = (\d+)", text, re.M).group(1))
    per_sm = int(re.search(r"^WIDE_PER_SM = (\d+)", text, re.M).group(1))
    wide = [k for k in kernels if f"BLOCK={loop_block} ROWS=1 ONE_BLOCK=False" in k["config"]]
    assert wide and wide[0]["programs_per_sm"] == per_sm


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"} | {"PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("name, kernels", [
    ("triton_matmul", {"matmul_kernel"}),
    ("flash_attention", {"attention_fwd_kernel", "attention_bwd_delta_kernel", "attention_bwd_dkdv_kernel",
                         "attention_bwd_dq_kernel"}),
])
def test_every_gpu_launch_of_the_reference_compiles_for_sm90_and_fits(tmp_path, name, kernels):
    """The launches these references make only on a GPU (their bench tiles, stages and warps)
    are otherwise never compiled before a GPU session: a tile whose stages overflow shared
    memory, or code the compiler rejects, fails here instead."""
    out = tmp_path / "resources.json"
    done = subprocess.run([sys.executable, str(TOOL), "--kernels", name, "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env=_env())
    if done.returncode == 2 and "not measured" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    launched = json.loads(out.read_text())["kernels"]
    assert {k["kernel"] for k in launched} == kernels
    assert all(k["fits"] and k["shared"] <= 232448 and k["programs_per_sm"] >= 1 for k in launched)


def test_a_json_path_in_no_folder_is_one_line_before_any_work(tool, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(tool, "measure", lambda names: pytest.fail("measured before checking --json"))
    assert tool.main(["--json", str(tmp_path / "missing" / "out.json")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"no folder {tmp_path / 'missing'}")
