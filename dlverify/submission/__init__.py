"""Step 1 of a grading: the submission read as text (a .py file or a notebook's code cells)
and parsed, never imported or run by the host."""
