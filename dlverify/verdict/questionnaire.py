"""The interactive questionnaire: eight questions, one at a time, each building on the last.

Every sub-answer is parsed, validated with the same rules as an answers file
(answers.check_value), re-asked on bad input, and saved to the answers file at
once, so Ctrl-C (or a closed terminal) loses nothing: running it again resumes
where it stopped. Streams and the save path are arguments, so tests drive it
in-process or through a real pseudo-terminal.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, TextIO

import yaml

from .answers import DEGREES, FIELD_PATHS, LEVELS, QUESTIONS, Answers, Field, Question, check_value, validate
from .datafile import read_data_file

DEGREE_WORDS = {
    "bs": "bachelor", "ba": "bachelor", "bsc": "bachelor", "beng": "bachelor", "bachelors": "bachelor",
    "bachelor's": "bachelor", "undergraduate": "bachelor",
    "ms": "master", "ma": "master", "msc": "master", "meng": "master", "masters": "master", "master's": "master",
    "doctorate": "phd", "ph.d": "phd", "ph.d.": "phd", "dphil": "phd",
    "no": "none", "-": "none",
}
FRAMEWORK_NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow/Keras", "jax": "JAX"}
HINTS = {
    "rating": "[0-10]", "level": "[" + "/".join(LEVELS) + "]", "degree": "[" + "/".join(DEGREES) + "]",
    "bool": "[y/n]", "list": "", "text": "", "years": "[years]",
}


class QuestionnaireInterrupted(Exception):
    """Stopped before the end (Ctrl-C or end of input); what was answered is saved."""

    def __init__(self, answered: int, path: Path):
        self.answered = answered
        self.path = path
        super().__init__(f"{answered} of {len(FIELD_PATHS)} answers saved in {path}")


def parse_input(f: Field, text: str) -> tuple[Any, str | None]:
    """Turn what was typed into a value for the field, or say what is wrong."""
    raw = text.strip()
    low = raw.lower()
    if f.kind == "rating":
        if not low.lstrip("-").isdigit():
            return None, f"expected {f.describe()}, got {raw!r}"
        return check_value(f, int(low))
    if f.kind in ("level", "degree"):
        allowed = LEVELS if f.kind == "level" else DEGREES
        if f.kind == "degree":
            low = DEGREE_WORDS.get(low, low)
        matches = [a for a in allowed if a.startswith(low)] if low else []
        if len(matches) != 1:
            return None, f"expected {f.describe()}, got {raw!r}"
        return check_value(f, matches[0])
    if f.kind == "bool":
        if low in ("y", "yes", "true"):
            return True, None
        if low in ("n", "no", "false"):
            return False, None
        return None, f"expected yes or no, got {raw!r}"
    if f.kind == "list":
        return check_value(f, [p for p in (x.strip() for x in raw.split(",")) if p])
    if f.kind == "years":
        try:
            value = float(low)
        except ValueError:
            return None, f"expected {f.describe()}, got {raw!r}"
        return check_value(f, int(value) if value.is_integer() else value)
    return check_value(f, raw)


def _strongest_framework(sec: dict[str, Any]) -> str | None:
    rated = [(sec[k], -i, k) for i, k in enumerate(FRAMEWORK_NAMES) if isinstance(sec.get(k), int)]
    return FRAMEWORK_NAMES[max(rated)[2]] if rated else None


def context_line(q: Question, data: dict[str, dict[str, Any]]) -> str:
    """One line tying this question to the earlier answers."""
    ed, fu, fw = data.get("education", {}), data.get("fundamentals", {}), data.get("frameworks", {})
    strongest = _strongest_framework(fw) or "your main framework"
    if q.section == "fundamentals":
        if ed.get("degree") in ("none", "bachelor"):
            return ("Without a master's, hands-on depth has to carry more of the case - and the exercises "
                    "can check backprop and attention directly.")
        return "With a graduate degree, the bar is depth: rate what you have built, not what you have read."
    if q.section == "frameworks":
        t = fu.get("transformers")
        return (f"You rated transformers {t}/10; now, the framework you would build one in."
                if t is not None else "Now, the framework you build in.")
    if q.section == "advanced":
        t, c = fu.get("transformers"), fu.get("cnn")
        return (f"Building on transformers ({t}/10) and CNNs ({c}/10): the families most DL work now uses."
                if t is not None and c is not None else "")
    if q.section == "training":
        if fw.get("debug_training") is True:
            return f"You said you can debug training in {strongest}; rate each part of it."
        if fw.get("debug_training") is False:
            return (f"You said debugging training in {strongest} is not yours yet; rate honestly - "
                    "the mixed-precision exercise checks part of this.")
        return ""
    if q.section == "math":
        b = fu.get("feedforward_backprop")
        return f"You rated backprop {b}/10 in question 2; this checks the maths under it." if b is not None else ""
    if q.section == "production":
        if fw.get("optimize_performance") is True:
            return (f"You said you optimise {strongest} for performance; GPU programming is where the "
                    "Triton and CUDA exercises check that.")
        return "Where models meet hardware and users; the Triton and CUDA exercises can check GPU programming."
    if q.section == "goals":
        return "Last, context: your years of experience set the salary level, and your location its premium."
    return ""


def field_prompt(q: Question, f: Field, data: dict[str, dict[str, Any]]) -> str:
    prompt = f.prompt
    if q.section == "frameworks" and f.kind in ("bool", "text"):
        strongest = _strongest_framework(data.get("frameworks", {}))
        if strongest:
            prompt = f"With {strongest}: {prompt[0].lower()}{prompt[1:]}"
    if f.kind == "bool":
        prompt += "?"
    hint = HINTS[f.kind]
    return f"  {prompt} {hint}: " if hint else f"  {prompt}: "


def save_partial(path: Path, data: dict[str, dict[str, Any]]) -> None:
    """Write atomically: a crash mid-write must not lose earlier answers."""
    ordered = {q.section: {f.name: data[q.section][f.name] for f in q.fields if f.name in data.get(q.section, {})}
               for q in QUESTIONS if data.get(q.section)}
    count = sum(len(v) for v in ordered.values())
    header = ("# dlverify questionnaire answers" +
              ("" if count == len(FIELD_PATHS) else f" (partial: {count} of {len(FIELD_PATHS)}; run again to resume)")
              + "\n")
    text = header + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".answers-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_partial(path: Path) -> dict[str, dict[str, Any]]:
    """The answers saved so far (validated), or {} when there is no file yet."""
    if not path.exists():
        return {}
    data = read_data_file(path)
    return validate(data, partial=True, source=str(path))


def run_questionnaire(stdin: TextIO, stdout: TextIO, save_path: Path, *, fresh: bool = False,
                      on_save: Callable[[int], None] | None = None) -> Answers:
    """Ask what is not answered yet; return the complete answers (also saved at save_path).

    Raises QuestionnaireInterrupted on Ctrl-C or end of input, and AnswersError
    or DataFileError when the file to resume from is not a valid partial answers file.
    """
    data: dict[str, dict[str, Any]] = {} if fresh else load_partial(save_path)
    answered = sum(len(v) for v in data.values())
    out = stdout.write
    out("dlverify questionnaire: 8 questions about your deep-learning background, about 5-10 minutes.\n"
        "Answer honestly: every claim an exercise can check will be checked against your graded results.\n"
        f"Each answer is saved to {save_path} as you go; Ctrl-C stops, and running again resumes.\n")
    if answered:
        out(f"Resuming: {answered} of {len(FIELD_PATHS)} answers are already saved.\n")
    stdout.flush()
    try:
        for number, q in enumerate(QUESTIONS, 1):
            have = data.setdefault(q.section, {})
            if all(f.name in have for f in q.fields):
                continue
            out(f"\nQuestion {number} of {len(QUESTIONS)} - {q.title}\n")
            context = context_line(q, data)
            if context:
                out(f"{context}\n")
            out(f"{q.text}\n")
            for f in q.fields:
                if f.name in have:
                    continue
                while True:
                    out(field_prompt(q, f, data))
                    stdout.flush()
                    line = stdin.readline()
                    if line == "":          # end of input: stop like Ctrl-C, keep what is saved
                        out("\n")
                        raise QuestionnaireInterrupted(answered, save_path)
                    value, error = parse_input(f, line)
                    if error is None:
                        break
                    out(f"    ! {error}. Please answer again.\n")
                have[f.name] = value
                answered += 1
                save_partial(save_path, data)
                if on_save:
                    on_save(answered)
    except KeyboardInterrupt:
        out("\n")
        stdout.flush()
        raise QuestionnaireInterrupted(answered, save_path) from None
    out(f"\nAll {len(QUESTIONS)} questions answered; saved to {save_path}.\n")
    stdout.flush()
    return Answers.from_dict(data, source=str(save_path))
