"""What an exercise pack is, on the host: the registry, the manifest, the hidden cases, the
trusted grader code loaded by path, the handout (README, starter, notebook) and `dlverify validate`.

Step 0 of a grading: which exercise, under which rules, on which cases."""
