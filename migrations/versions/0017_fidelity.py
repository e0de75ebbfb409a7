"""Fidelity checklists per session (with the supervisor's review) and the
supervision meetings of a cohort.

Revision ID: 0017_fidelity
Revises: 0016_problem_work
Create Date: 2026-12-06 20:45:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0017_fidelity"
down_revision = "0016_problem_work"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade():
    op.create_table(
        "fidelity_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=12), nullable=False),
        sa.Column("answers", _json(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "rating IS NULL OR rating BETWEEN 1 AND 5", name=op.f("ck_fidelity_checklists_rating")
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 1", name=op.f("ck_fidelity_checklists_score")),
        _fk("fidelity_checklists", "session_id", "group_sessions", "CASCADE"),
        _fk("fidelity_checklists", "cohort_id", "cohorts", "CASCADE"),
        _fk("fidelity_checklists", "submitted_by_id", "users", "SET NULL"),
        _fk("fidelity_checklists", "reviewed_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fidelity_checklists")),
        sa.UniqueConstraint("session_id", name=op.f("uq_fidelity_checklists_session_id")),
    )
    with op.batch_alter_table("fidelity_checklists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fidelity_checklists_cohort_id"), ["cohort_id"], unique=False
        )

    op.create_table(
        "supervision_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("facilitator_ids", _json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 5 AND 600", name=op.f("ck_supervision_meetings_duration")
        ),
        _fk("supervision_meetings", "cohort_id", "cohorts", "CASCADE"),
        _fk("supervision_meetings", "supervisor_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_meetings")),
    )
    with op.batch_alter_table("supervision_meetings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_meetings_cohort_id"), ["cohort_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("supervision_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_meetings_cohort_id"))
    op.drop_table("supervision_meetings")
    with op.batch_alter_table("fidelity_checklists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fidelity_checklists_cohort_id"))
    op.drop_table("fidelity_checklists")
