"""When an enrolment's data was erased (enrolments.erased_at): a person referred
at screening has no account, so their erasure is marked on the enrolment. Rows
blanked by a member's erasure before this column existed get their last update
time.

Revision ID: 0012_referral_erasure
Revises: 0011_outcome_cache
Create Date: 2026-11-23 00:12:07.762737

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_referral_erasure"
down_revision = "0011_outcome_cache"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    # services/privacy.py's ERASED_NAME, on rows unlinked from their account.
    op.execute(
        "UPDATE enrolments SET erased_at = updated_at "
        "WHERE user_id IS NULL AND display_name = 'Erased member'"
    )


def downgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
