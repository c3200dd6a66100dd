"""The explicit list of exercises. Adding one = a pack folder plus one line here."""

from __future__ import annotations

from .manifest import Exercise, load_manifest

EXERCISE_IDS: tuple[str, ...] = (
    "backprop_mlp",
    "conv2d_backprop",
    "gnn",
    "lstm",
    "diffusion",
    "layernorm_backward",
    "quantize",
    "ring_allreduce",
    "drift_monitor",
    "onnx_export",
    "jax_train_step",
    "attention",
    "mixed_precision",
    "optimizer",
    "triton_softmax",
    "triton_matmul",
    "cuda_matmul",
    "flash_attention",
)


class UnknownExercise(KeyError):
    def __str__(self) -> str:
        return f"unknown exercise {self.args[0]!r}; known: {', '.join(EXERCISE_IDS)}"


def get_exercise(exercise_id: str) -> Exercise:
    if exercise_id not in EXERCISE_IDS:
        raise UnknownExercise(exercise_id)
    return load_manifest(exercise_id)


def all_exercises() -> list[Exercise]:
    return [load_manifest(i) for i in EXERCISE_IDS]
