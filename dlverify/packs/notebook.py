"""Starter notebooks, made with nbformat from an exercise's rendered README and starter.py."""

from __future__ import annotations

import nbformat

from .handout import render_readme
from .manifest import Exercise


def starter_notebook(exercise: Exercise) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(render_readme(exercise)),
        nbformat.v4.new_markdown_cell(
            "**What is graded:** every code cell, in order, joined into one file. Lines starting with `%` or `!` "
            "are dropped. A cell whose first line is `# dlverify: skip` is left out: use such cells for "
            "your own experiments."),
        nbformat.v4.new_code_cell(exercise.starter.read_text(encoding="utf-8")),
        nbformat.v4.new_code_cell("# dlverify: skip\n# Try your code here; this cell is not graded.\n"),
    ]
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"  # not nbformat's random ids: the same starter twice is the same file
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb
