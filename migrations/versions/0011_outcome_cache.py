"""The clinic dashboard's cache of each cohort's outcome tally
(services/outcome_cache.py). Derived data: a new, empty table; rows are
computed on the next read.

Revision ID: 0011_outcome_cache
Revises: 0010_member_erasure
Create Date: 2026-11-22 20:17:12.246972

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0011_outcome_cache"
down_revision = "0010_member_erasure"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cohort_outcome_cache",
        sa.Column("cohort_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("code_version", sa.Integer(), nullable=True),
        sa.Column(
            "tally",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("held_sessions", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_cohort_outcome_cache")),
    )


def downgrade():
    op.drop_table("cohort_outcome_cache")
