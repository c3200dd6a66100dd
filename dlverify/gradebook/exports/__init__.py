"""What the tools around dlverify read, made from grader results (dlverify.report.result/1).

    gradescope.py   Gradescope's (and Otter's) results.json: one test per hidden case
    junit.py        JUnit XML for CI systems: one testcase per hidden case
    table.py        a cohort as CSV: one row per candidate, one column per exercise

Each takes plain result dicts (a result file, an attempt's `result` column), so the
same functions serve `dlverify export` (files) and `dlverify gradebook export`
(the database), and a web app later.
"""
# Each module is imported where it is used: table.py needs SQLAlchemy (the gradebook's
# queries), while `dlverify export` of result files needs none.
FORMATS = ("csv", "gradescope", "junit")
