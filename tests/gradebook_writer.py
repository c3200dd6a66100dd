"""One writer of test_gradebook's two-writers test, run as its own process.

    python gradebook_writer.py URL TAG COUNT FOLDER

Says it is ready (FOLDER/ready-TAG), waits for FOLDER/go, then opens the
gradebook (both writers may find it new: the migration race), makes the cohort
(both may: the get-or-create race) and records COUNT attempts, one transaction
each, over four candidates both writers share.
"""

import sys
import time
from pathlib import Path

from dlverify.gradebook.db import database_url, open_gradebook
from dlverify.gradebook.record import add_cohort, find_cohort, record_attempt
from gradebook_helpers import make_result

url, tag, count, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(folder / f"ready-{tag}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
book = open_gradebook(database_url(url))
with book.writing() as session:
    add_cohort(session, "race")
for i in range(count):
    result = make_result(graded_at=f"2026-01-05T10:{i // 60:02d}:{i % 60:02d}+00:00", sha=(tag * 64)[:64])
    with book.writing() as session:
        record_attempt(session, find_cohort(session, "race"), f"cand{i % 4}", result, source="grade")
print(f"{tag}: {count} recorded")
