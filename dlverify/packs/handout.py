"""What `dlverify start` hands a candidate: the README rendered with the manifest's exact rule lists.

The manifest (exercise.toml) is not handed out, so a README that says "the full list is in
exercise.toml" would point at a file the candidate does not have. The lists are rendered into
the README instead, from the manifest itself, so the two can never disagree. The README is the
same for `start` and `start --notebook`: starting both in one folder is no conflict.
"""

from __future__ import annotations

from .manifest import Exercise

LISTS_HEADING = "## The exact rule lists"


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def rules_section(exercise: Exercise) -> str:
    """The manifest's rules as README text (a heading and one bullet per list), or "" if none."""
    rules = exercise.rules
    lines = []
    if rules.allowed_imports is not None:
        allowed = (f"(besides the Python standard library): {_names(rules.allowed_imports)}" if rules.allowed_imports
                   else "the Python standard library only")
        lines.append(f"- **Imports allowed** {allowed}; importing anything else gets the submission `rejected`.")
    if rules.forbidden_imports:
        lines.append(f"- **Imports forbidden** (`rejected`): {_names(rules.forbidden_imports)}.")
    if rules.forbidden_ops:
        lines.append("- **`forbidden_ops`**, torch functions and aten ops refused by name however they are reached "
                     f"(`rejected`): {_names(rules.forbidden_ops)}.")
    if rules.allowed_ops is not None:
        lines.append("- **`allowed_ops`**, the only aten ops your code may run inside the graded call "
                     f"(any other is `rejected`): {_names(rules.allowed_ops)}.")
    if rules.require_triton_launch:
        lines.append("- Each graded call must launch at least one `@triton.jit` kernel.")
    if not lines:
        return ""
    return (f"{LISTS_HEADING}\n\nThe grader applies exactly these lists (they come from the exercise's "
            "manifest):\n\n" + "\n".join(lines) + "\n")


def render_readme(exercise: Exercise) -> str:
    """The README a candidate receives: the pack's README, then the exact rule lists."""
    text = exercise.readme.read_text(encoding="utf-8").rstrip("\n") + "\n"
    section = rules_section(exercise)
    return text + ("\n" + section if section else "")
