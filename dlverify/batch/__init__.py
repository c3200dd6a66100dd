"""Grading many submissions to one exercise: a course's hand-in folder, a hiring round.

    find_submissions -> keep results already graded from the same bytes
    -> grade the rest side by side (run.py: threads here, or Ray over a fleet: ../fleet.py)
    -> one result JSON per submission, written as each finishes
    -> summary.csv and summary.json

Each grading is the ordinary `grade()`, with its sandbox: running many at once
changes nothing about the trust boundary. Results are written as they come,
so an interrupted batch loses nothing and a second run picks up where it
stopped.
"""
# model.py (the pieces), find.py, store.py (results and summaries), run.py.

from .find import find_submissions, hand_in_folder
from .model import (NO_SUBMISSION, SOLUTION_NAMES, SUFFIXES, SUMMARY_FIELDS, UNREADABLE, BatchError, Entry,
                    Options, Outcome, Row, Skipped)
from .one import fault_row, grade_to_dict, record
from .run import run_batch, run_local
from .store import (earlier_result, other_results, result_name, row_from_result, skipped_rows, status_counts,
                    summary_rows, write_result, write_summary)

__all__ = ["NO_SUBMISSION", "SOLUTION_NAMES", "SUFFIXES", "SUMMARY_FIELDS", "UNREADABLE", "BatchError", "Entry",
           "Options", "Outcome", "Row", "Skipped", "earlier_result", "fault_row", "find_submissions",
           "grade_to_dict", "hand_in_folder", "other_results", "record", "result_name", "row_from_result", "run_batch", "run_local",
           "skipped_rows", "status_counts", "summary_rows", "write_result", "write_summary"]
