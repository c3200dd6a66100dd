"""From measured figures to a throughput score in 0..1, per exercise (docs/THROUGHPUT.md).

A GPU score is the mean of two parts, each a straight line clamped to 0..1:

    sol part    0 at sol_fraction <= sol_zero, 1 at >= sol_full
    torch part  0 at vs_torch <= torch_zero, 1 at >= torch_full

sol_fraction is achieved / the speed of light measured on the device
(copy bandwidth or the cuBLAS matmul peak of the dtype); vs_torch is torch's
own time / the submission's (above 1: faster than torch). A part that could
not be measured is left out of the mean. The bounds say where "no credit"
and "full credit" sit for each exercise, from what torch and the reference
reach on an H100 (docs/THROUGHPUT.md gives the figures behind them).

On the CPU, figures are indicative and the score stays the reference ratio
(`cpu_score`): 1 at the reference's speed or better, 0 at 4x slower.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreRule:
    sol_zero: float
    sol_full: float
    torch_zero: float
    torch_full: float
    torch_is: str = "torch"   # what vs_torch compares with, for reports

    def parts(self, sol_fraction: float | None, vs_torch: float | None) -> dict[str, float]:
        out = {}
        if sol_fraction is not None:
            out["sol"] = _ramp(sol_fraction, self.sol_zero, self.sol_full)
        if vs_torch is not None:
            out["torch"] = _ramp(vs_torch, self.torch_zero, self.torch_full)
        return out

    def score(self, sol_fraction: float | None, vs_torch: float | None) -> float | None:
        parts = self.parts(sol_fraction, vs_torch)
        return round(sum(parts.values()) / len(parts), 4) if parts else None


def _ramp(value: float, zero: float, full: float) -> float:
    if value >= full:
        return 1.0
    if value <= zero:
        return 0.0
    return (value - zero) / (full - zero)


RULES: dict[str, ScoreRule] = {
    # memory-bound: torch.softmax reaches ~0.8-0.9 of copy bandwidth at these sizes
    "triton_softmax": ScoreRule(sol_zero=0.20, sol_full=0.80, torch_zero=0.25, torch_full=0.95,
                                torch_is="torch.softmax"),
    # fwd+bwd in bf16 without torch's fused kernels; FlashAttention-2 reaches ~0.3 of the bf16 peak
    "attention": ScoreRule(sol_zero=0.02, sol_full=0.25, torch_zero=0.10, torch_full=0.60,
                           torch_is="F.scaled_dot_product_attention (fused), fwd+bwd"),
    # Triton kernels against torch's fused FlashAttention on the same inputs, bf16, fwd and fwd+bwd:
    # FlashAttention-2 reaches ~0.35-0.5 of the H100's bf16 peak forward, less with backward;
    # issue 19's target is 0.8 of SDPA. Provisional until the first GPU run (docs/THROUGHPUT.md).
    "flash_attention": ScoreRule(sol_zero=0.05, sol_full=0.40, torch_zero=0.25, torch_full=0.80,
                                 torch_is="F.scaled_dot_product_attention (fused), fwd and fwd+bwd"),
    # vs_torch here is the speed-up over the same loop in float32 (TF32 off)
    "mixed_precision": ScoreRule(sol_zero=0.05, sol_full=0.50, torch_zero=1.0, torch_full=4.0,
                                 torch_is="the same training loop in float32"),
    # float32 without tensor cores: the SOL is cuBLAS SGEMM, so both parts measure the same thing
    "cuda_matmul": ScoreRule(sol_zero=0.10, sol_full=0.75, torch_zero=0.10, torch_full=0.75,
                             torch_is="torch.matmul (cuBLAS SGEMM, TF32 off)"),
    # fp16/bf16 on tensor cores: the SOL is cuBLAS's own 8192^3 (the copy bandwidth for the skinny
    # case); Triton's matmul tutorial publishes fp16 on a par with cuBLAS (ours: not measured yet).
    # vs_torch counts torch's unfused epilogue, so a fused kernel may pass 1 on the gelu case
    "triton_matmul": ScoreRule(sol_zero=0.20, sol_full=0.85, torch_zero=0.25, torch_full=0.90,
                               torch_is="torch.matmul / addmm (cuBLAS) + F.relu / F.gelu"),
}


def gpu_score(exercise_id: str, sol_fraction: float | None, vs_torch: float | None) -> float | None:
    rule = RULES.get(exercise_id)
    return rule.score(sol_fraction, vs_torch) if rule else None


def cpu_score(speedup: float) -> float:
    """1.0 at the reference's speed or better, falling linearly to 0 at 4x slower."""
    if speedup >= 1.0:
        return 1.0
    return round(max(0.0, (speedup - 0.25) / 0.75), 4)
