"""The gradebook: every candidate, attempt and verdict across runs, in SQLite or PostgreSQL.

    db.py        the URL (--db, DLVERIFY_DB, the default file), engine, sessions
    migrate.py   Alembic migrations (migrations/), run on open
    models.py    the tables
    record.py    writing: cohorts, candidates, attempts, answers, verdicts
    queries.py   reading: cohorts, candidates, the attempt that counts, history
    importer.py  a grade-batch output folder into a cohort
    exports/     Gradescope results.json, JUnit XML, the cohort CSV

The CLI is dlverify/commands/gradebook.py; a web app reuses db, queries and exports
as they are. Import the modules themselves (`from dlverify.gradebook.db import
open_gradebook`): this file imports nothing, so that building the command line
never loads SQLAlchemy, and grading needs no database.
"""
