"""The first gradebook: cohorts, assessments, candidates, attempts, answers, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out, not imported from models.py: a migration is what the tables were at this revision.
Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cohort_id", sa.Integer(), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("cohort_id", "exercise", name="uq_assessments_cohort_exercise"),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cohort_id", sa.Integer(), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("cohort_id", "name", name="uq_candidates_cohort_name"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("assessment_id", sa.Integer(), sa.ForeignKey("assessments.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("result_sha256", sa.String(64), nullable=False),
        sa.Column("submission_file", sa.Text(), nullable=False),
        sa.Column("submission_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("correctness_score", sa.Float(), nullable=False),
        sa.Column("cases_passed", sa.Integer(), nullable=False),
        sa.Column("cases_total", sa.Integer(), nullable=False),
        sa.Column("cases_not_run", sa.Integer(), nullable=False),
        sa.Column("throughput_score", sa.Float(), nullable=True),
        sa.Column("speedup", sa.Float(), nullable=True),
        sa.Column("gbps", sa.Float(), nullable=True),
        sa.Column("tflops", sa.Float(), nullable=True),
        sa.Column("sol_fraction", sa.Float(), nullable=True),
        sa.Column("indicative", sa.Boolean(), nullable=True),
        sa.Column("device_kind", sa.String(16), nullable=False),
        sa.Column("device_name", sa.String(200), nullable=False),
        sa.Column("dlverify_version", sa.String(64), nullable=False),
        sa.Column("versions", Document, nullable=False),
        sa.Column("runner", sa.String(200), nullable=False),
        sa.Column("graded_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("result", Document, nullable=False),
        sa.UniqueConstraint("candidate_id", "assessment_id", "result_sha256", name="uq_attempts_identity"),
    )
    op.create_index("ix_attempts_candidate_assessment", "attempts", ["candidate_id", "assessment_id"])
    op.create_index("ix_attempts_status", "attempts", ["status"])
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("answers", Document, nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("candidate_id", "sha256", name="uq_answers_identity"),
    )
    op.create_index("ix_answers_candidate_id", "answers", ["candidate_id"])
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("answers_id", sa.Integer(), sa.ForeignKey("answers.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(64), nullable=False),
        sa.Column("match_percent", sa.Float(), nullable=False),
        sa.Column("calibration_percent", sa.Float(), nullable=True),
        sa.Column("calibration_bias", sa.Float(), nullable=True),
        sa.Column("generated_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("report", Document, nullable=False),
    )
    op.create_index("ix_verdicts_candidate_id", "verdicts", ["candidate_id"])


def downgrade() -> None:
    for table in ("verdicts", "answers", "attempts", "candidates", "assessments", "cohorts"):
        op.drop_table(table)
