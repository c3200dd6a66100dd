"""The verdict engine: questionnaire answers + grader results -> an assessment.

Claims come from the eight-question questionnaire (answers.py); evidence comes
from the grader's JSON results (results.py). The model that joins them lives
as data under data/ (skills, roles, resources, salary, verdict bands), so a new
exercise pack adds a line of YAML, not code. docs/VERDICT.md explains the rules.
"""
