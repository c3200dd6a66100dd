"""The web app's tables join the gradebook: staff, timed assessments, invitations, uploads.

Each timed assessment records into a cohort of its own, each invitation into a candidate of
that cohort, each graded upload as an attempt. A database that the web app's first release
(which made these tables itself, outside the migrations) has used is carried over: its rows
are read, its tables replaced, and every row written back linked to the gradebook, the
results of graded uploads as attempts (source "web"). Nothing is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLES = ("web_staff", "web_assessment", "web_invite", "web_upload")   # parents first
MAX_NAME, MAX_COHORT = 300, 200   # Candidate.name's and Cohort.name's widths


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    legacy = {t: _rows(bind, t) for t in TABLES if t in present}
    for table in reversed(TABLES):
        if table in legacy:
            op.drop_table(table)
    _create()
    if legacy:
        _carry_over(bind, legacy)


def _create() -> None:
    op.create_table(
        "web_staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "web_assessment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cohort_id", sa.Integer(), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("exercises", Document, nullable=False),
        sa.Column("time_box_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("web_staff.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "web_invite",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assessment_id", sa.Integer(), sa.ForeignKey("web_assessment.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("first_visit_at", sa.DateTime(), nullable=True),
        sa.Column("answers", Document, nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("verdict_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_web_invite_assessment_id", "web_invite", ["assessment_id"])
    op.create_table(
        "web_upload",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("invite_id", sa.Integer(), sa.ForeignKey("web_invite.id", ondelete="CASCADE"), nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("suffix", sa.String(8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(120), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), sa.ForeignKey("attempts.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_web_upload_invite_id", "web_upload", ["invite_id"])
    op.create_index("ix_web_upload_state", "web_upload", ["state"])


def _rows(bind, table: str) -> list[dict]:
    # Through the reflected table, not a text query: SQLite hands back times as text otherwise.
    t = sa.Table(table, sa.MetaData(), autoload_with=bind)
    return [dict(r) for r in bind.execute(sa.select(t).order_by(t.c.id)).mappings()]


def _fitted(head: str, tail: str, width: int) -> str:
    """head + tail in `width` characters, head shortened."""
    return head[:max(0, width - len(tail))] + tail


def _json(value):
    import json

    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _insert(bind, table: str, values: dict, meta: sa.MetaData) -> int:
    """A row into the table as it is at this revision (reflected: the models may have moved on)."""
    t = meta.tables.get(table) if table in meta.tables else sa.Table(table, meta, autoload_with=bind)
    return bind.execute(t.insert().values(**{k: v for k, v in values.items() if k in t.c})
                        .returning(t.c.id)).scalar_one()


def _carry_over(bind, legacy: dict[str, list[dict]]) -> None:
    """The first release's rows, linked to cohorts, candidates and attempts."""
    from dlverify.gradebook.record import attempt_columns, canonical_digest, storable

    meta = sa.MetaData()

    def insert(table: str, values: dict) -> int:
        return _insert(bind, table, values, meta)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    taken = {r[0] for r in bind.execute(sa.text("SELECT name FROM cohorts"))}
    for row in legacy.get("web_staff", []):
        insert("web_staff", row)
    cohort_of: dict[int, int] = {}
    for row in legacy.get("web_assessment", []):
        name = row["name"] if row["name"] not in taken else _fitted(row["name"], f" (web {row['id']})", MAX_COHORT)
        taken.add(name)
        cohort_of[row["id"]] = insert("cohorts", {"name": name, "title": "", "created_at": now})
        insert("web_assessment", {**row, "exercises": _json(row["exercises"]), "cohort_id": cohort_of[row["id"]]})
    person_of: dict[int, tuple[int, int]] = {}
    names: set[tuple[int, str]] = set()
    for row in legacy.get("web_invite", []):
        cohort = cohort_of[row["assessment_id"]]
        # The email whole (it tells people apart), the name shortened: a name of 200 and an
        # email of 254 characters fit no candidate otherwise.
        name = _fitted(row["name"], f" <{row['email']}>", MAX_NAME)
        if (cohort, name) in names:
            name = _fitted(row["name"], f" <{row['email']}> #{row['id']}", MAX_NAME)
        names.add((cohort, name))
        person = insert("candidates", {"cohort_id": cohort, "name": name, "created_at": now})
        person_of[row["id"]] = (cohort, person)
        # storable: PostgreSQL's JSON took a NUL, its JSONB does not
        insert("web_invite", {**row, "answers": storable(_json(row["answers"]) or {}), "candidate_id": person,
                              "answered": bool(row["answered"]), "verdict_at": None})
    tasks: dict[tuple[int, str], int] = {}
    for row in legacy.get("web_upload", []):
        result = storable(_json(row.get("result")))
        attempt = None
        if isinstance(result, dict) and row["state"] == "done" and result.get("exercise") == row["exercise"]:
            cohort, person = person_of[row["invite_id"]]
            if (cohort, row["exercise"]) not in tasks:
                tasks[cohort, row["exercise"]] = insert("assessments", {
                    "cohort_id": cohort, "exercise": row["exercise"], "created_at": now})
            columns = attempt_columns(result)
            graded = columns["graded_at"]
            attempt = insert("attempts", {
                **columns, "graded_at": graded.astimezone(timezone.utc).replace(tzinfo=None) if graded else None,
                "candidate_id": person, "assessment_id": tasks[cohort, row["exercise"]], "source": "web",
                "result_sha256": canonical_digest(result), "runner": "", "recorded_at": now, "result": result})
        insert("web_upload", {**row, "attempt_id": attempt})
    if bind.dialect.name == "postgresql":   # rows came with their ids: move each sequence past them
        for table in TABLES:
            bind.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
