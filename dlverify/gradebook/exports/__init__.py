"""What the tools around dlverify read, made from grader results (dlverify.report.result/1).

    gradescope.py   Gradescope's (and Otter's) results.json: one test per hidden case
    junit.py        JUnit XML for CI systems: one testcase per hidden case
    table.py        a cohort as CSV: one row per candidate, one column per exercise
    cohort.py       any of them for a cohort in the database (export_text)

Each takes plain result dicts (a result file, an attempt's `result` column), so the
same functions serve `dlverify export` (files), and through cohort.py `dlverify
gradebook export` and the web app's export links (the database).
"""
# Each module is imported where it is used: table.py needs SQLAlchemy (the gradebook's
# queries), while `dlverify export` of result files needs none.
FORMATS = ("csv", "gradescope", "junit")
