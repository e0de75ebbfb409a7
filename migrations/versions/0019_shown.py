"""'Shown' receipts: when a device displayed a notification.

Revision ID: 0019_shown
Revises: 0018_follow_up
Create Date: 2026-12-06 22:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_shown"
down_revision = "0018_follow_up"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("shown_at")
