"""The answers file: the eight questionnaire sections, their fields, and validation.

One table (QUESTIONS) is the schema: the file validator and the interactive
questionnaire both read it, so the two ways in cannot drift apart. Every error
names the field as `section.field` and says what was expected.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .datafile import DataFileError, read_data_file

DEGREES = ("none", "bachelor", "master", "phd")
LEVELS = ("none", "studied", "implemented", "trained")
MAX_YEARS = 60


class AnswersError(ValueError):
    """The answers do not fit the schema. `problems` lists every one found."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if len(problems) > 1 else ""
        super().__init__(f"{head}{problems[0]}{more}")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str            # rating | level | degree | bool | text | list | years
    prompt: str          # what the questionnaire asks for this field
    required_text: bool = False   # text that may not be empty

    def describe(self) -> str:
        return {
            "rating": "an integer from 0 to 10 (0 = none)",
            "level": "one of " + ", ".join(LEVELS),
            "degree": "one of " + ", ".join(DEGREES),
            "bool": "true or false",
            "text": "a non-empty string" if self.required_text else "a string (may be empty)",
            "list": "a list of strings",
            "years": f"a number of years from 0 to {MAX_YEARS}",
        }[self.kind]


@dataclass(frozen=True)
class Question:
    section: str
    title: str
    text: str            # the question as the questionnaire puts it
    fields: tuple[Field, ...]


QUESTIONS: tuple[Question, ...] = (
    Question("education", "Educational foundation",
             "Your education: highest degree, major, and coursework relevant to deep learning "
             "(computer science, mathematics, engineering). A master's is the usual bar for this role.",
             (Field("degree", "degree", "Highest degree"),
              Field("major", "text", "Major (blank if none)"),
              Field("coursework", "list", "Relevant coursework, comma-separated (blank if none)"))),
    Question("fundamentals", "Neural-network fundamentals",
             "Rate your understanding from 0 (none) to 10, then name projects where you built "
             "any of these from scratch or changed them heavily.",
             (Field("feedforward_backprop", "rating", "(a) Feed-forward networks and backpropagation"),
              Field("cnn", "rating", "(b) CNNs: convolution, pooling, architectures"),
              Field("rnn", "rating", "(c) RNNs, LSTMs, GRUs"),
              Field("transformers", "rating", "(d) Transformers and attention"),
              Field("projects", "text", "Projects built from scratch or heavily customised"))),
    Question("frameworks", "Deep-learning frameworks",
             "Rate each framework from 0 to 10; then, for your strongest one, say what you can do with it.",
             (Field("pytorch", "rating", "(a) PyTorch"),
              Field("tensorflow", "rating", "(b) TensorFlow / Keras"),
              Field("jax", "rating", "(c) JAX or another framework"),
              Field("custom_layers", "bool", "Can you implement custom layers"),
              Field("debug_training", "bool", "Can you debug training problems"),
              Field("optimize_performance", "bool", "Can you optimise it for speed and memory"),
              Field("deploy_production", "bool", "Have you deployed models built with it to production"),
              Field("most_complex", "text", "Your most complex implementation with it"))),
    Question("advanced", "Advanced architectures",
             "For each family, how far have you gone: none, studied, implemented, or trained (at scale)?",
             (Field("gans", "level", "(a) GANs"),
              Field("vaes", "level", "(b) VAEs"),
              Field("diffusion", "level", "(c) Diffusion models"),
              Field("gnn", "level", "(d) Graph neural networks"),
              Field("meta_learning", "level", "(e) Meta-learning / few-shot learning"))),
    Question("training", "Training and optimisation",
             "Rate your hands-on expertise from 0 to 10 in each part of getting a model to train well.",
             (Field("optimizers", "rating", "(a) Optimisers and learning-rate schedules"),
              Field("regularization", "rating", "(b) Regularisation: dropout, normalisation, weight decay"),
              Field("hyperparameter_tuning", "rating", "(c) Hyper-parameter tuning"),
              Field("debugging", "rating", "(d) Debugging training: vanishing gradients, divergence, mode collapse"),
              Field("stability", "rating", "(e) Training-stability techniques"))),
    Question("math", "Mathematics and theory",
             "Rate your comfort from 0 to 10, then two yes/no checks.",
             (Field("linear_algebra", "rating", "(a) Linear algebra"),
              Field("calculus", "rating", "(b) Calculus: gradients, chain rule"),
              Field("probability", "rating", "(c) Probability and statistics"),
              Field("information_theory", "rating", "(d) Information theory"),
              Field("can_derive_backprop", "bool", "Can you derive backpropagation on paper"),
              Field("can_explain_gradient_descent", "bool", "Can you explain gradient descent mathematically"))),
    Question("production", "Production and scale",
             "Rate your hands-on experience from 0 to 10.",
             (Field("cuda", "rating", "(a) GPU programming (CUDA, Triton)"),
              Field("distributed", "rating", "(b) Distributed training: multi-GPU, multi-node"),
              Field("model_optimization", "rating", "(c) Model optimisation: quantisation, pruning, distillation"),
              Field("deployment", "rating", "(d) Deployment stacks: ONNX, TensorRT, TorchServe"),
              Field("mlops", "rating", "(e) MLOps and model monitoring"))),
    Question("goals", "Goals and context",
             "Last, the context the verdict is read in: where, when, what, and from where you start.",
             (Field("location", "text", "(a) City or region (for the salary check)", required_text=True),
              Field("timeline", "text", "(b) When do you want to be working in the role", required_text=True),
              Field("target_area", "text", "(c) Target application area (vision, NLP, ...)", required_text=True),
              Field("current_role", "text", "(d) Current role", required_text=True),
              Field("years_experience", "years", "(e) Years of deep-learning experience"))),
)

SECTIONS: dict[str, Question] = {q.section: q for q in QUESTIONS}
FIELD_PATHS: tuple[str, ...] = tuple(f"{q.section}.{f.name}" for q in QUESTIONS for f in q.fields)


def field_at(path: str) -> Field:
    section, _, name = path.partition(".")
    for f in SECTIONS[section].fields:
        if f.name == name:
            return f
    raise KeyError(path)


def check_value(f: Field, value: Any) -> tuple[Any, str | None]:
    """The value as stored, or an error saying what is wrong (without the field name)."""
    want = f.describe()
    if f.kind == "rating":
        # bool is an int in Python; `true` is not a rating
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"expected {want}, got {_show(value)}"
        if not 0 <= value <= 10:
            return None, f"expected {want}, got {value} (out of range)"
        return value, None
    if f.kind in ("level", "degree"):
        allowed = LEVELS if f.kind == "level" else DEGREES
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            return None, f"expected {want}, got {_show(value)}"
        return value.strip().lower(), None
    if f.kind == "bool":
        if not isinstance(value, bool):
            return None, f"expected {want}, got {_show(value)}"
        return value, None
    if f.kind == "text":
        if not isinstance(value, str):
            return None, f"expected {want}, got {_show(value)}"
        if f.required_text and not value.strip():
            return None, f"expected {want}, got an empty string"
        return value.strip(), None
    if f.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"expected {want}, got {_show(value)}"
        return [v.strip() for v in value if v.strip()], None
    if f.kind == "years":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return None, f"expected {want}, got {_show(value)}"
        if not 0 <= value <= MAX_YEARS:
            return None, f"expected {want}, got {value} (out of range)"
        return value, None
    raise AssertionError(f.kind)


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind.get(type(value), type(value).__name__)} {text}"


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate(data: Any, *, partial: bool = False, source: str = "") -> dict[str, dict[str, Any]]:
    """Check a parsed answers document; return it normalised, in schema order.

    With partial=True, missing sections and fields are allowed (a questionnaire
    saved half-way); everything present must still be right.
    """
    problems: list[str] = []
    if data is None and partial:
        data = {}
    if not isinstance(data, dict):
        raise AnswersError([f"expected a mapping of the eight sections ({', '.join(SECTIONS)}), "
                            f"got {_show(data)}"], source)
    for key in data:
        if key not in SECTIONS:
            problems.append(f"{key}: unknown section{_did_you_mean(str(key), list(SECTIONS))}")
    clean: dict[str, dict[str, Any]] = {}
    for q in QUESTIONS:
        if q.section not in data:
            if not partial:
                problems.append(f"{q.section}: missing section ({q.title})")
            continue
        section = data[q.section]
        if section is None and partial:
            section = {}
        if not isinstance(section, dict):
            problems.append(f"{q.section}: expected a mapping of fields, got {_show(section)}")
            continue
        names = [f.name for f in q.fields]
        for key in section:
            if key not in names:
                problems.append(f"{q.section}.{key}: unknown field{_did_you_mean(str(key), names)}")
        out: dict[str, Any] = {}
        for f in q.fields:
            if f.name not in section:
                if not partial:
                    problems.append(f"{q.section}.{f.name}: missing (expected {f.describe()})")
                continue
            value, error = check_value(f, section[f.name])
            if error:
                problems.append(f"{q.section}.{f.name}: {error}")
            else:
                out[f.name] = value
        clean[q.section] = out
    if problems:
        raise AnswersError(problems, source)
    return clean


@dataclass(frozen=True)
class Answers:
    """A complete, validated answers document."""

    data: dict[str, dict[str, Any]]

    def get(self, path: str) -> Any:
        section, _, name = path.partition(".")
        return self.data[section][name]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.data)

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> "Answers":
        return cls(validate(data, source=source))


def load_answers(path: Path) -> Answers:
    """Read and validate an answers file; AnswersError or DataFileError name what is wrong."""
    data = read_data_file(path)
    return Answers.from_dict(data, source=str(path))


__all__ = [
    "Answers", "AnswersError", "DataFileError", "Field", "Question", "QUESTIONS", "SECTIONS",
    "FIELD_PATHS", "DEGREES", "LEVELS", "check_value", "field_at", "load_answers", "validate",
]
