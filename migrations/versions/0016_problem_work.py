"""Problem-area work per member per session: techniques, steps, progress 0-4.

Revision ID: 0016_problem_work
Revises: 0015_safety_plans
Create Date: 2026-12-06 20:40:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0016_problem_work"
down_revision = "0015_safety_plans"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "problem_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("techniques", JSON, nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 4)",
            name=op.f("ck_problem_work_progress"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_problem_work_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_problem_work_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["group_sessions.id"],
            name=op.f("fk_problem_work_session_id_group_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_work")),
        sa.UniqueConstraint("session_id", "enrolment_id", name=op.f("uq_problem_work_session_id")),
    )
    with op.batch_alter_table("problem_work", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problem_work_enrolment_id"), ["enrolment_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("problem_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_work_enrolment_id"))
    op.drop_table("problem_work")
