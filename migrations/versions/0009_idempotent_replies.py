"""Idempotency-Key replies: the request fingerprint and the stored answer, so an
offline client replaying a write gets the first answer back.

Revision ID: 0009_idempotent_replies
Revises: 0008_push_delivery
Create Date: 2026-11-22 17:06:51.520504

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_idempotent_replies"
down_revision = "0008_push_delivery"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("status_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("response")
        batch_op.drop_column("status_code")
        batch_op.drop_column("fingerprint")
