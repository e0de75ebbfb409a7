"""Member erasure: users.erased_at marks an account whose personal data was
erased; the row stays as a nameless tombstone.

Only a column is added (ALTER TABLE ADD COLUMN on every backend). The users
table is deliberately not rebuilt: on SQLite a batch rebuild drops and recreates
the table, and with foreign keys on, dropping ``users`` would fire the ON DELETE
actions of every table that points at it.

Revision ID: 0010_member_erasure
Revises: 0009_idempotent_replies
Create Date: 2026-11-23 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_member_erasure"
down_revision = "0009_idempotent_replies"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Not in batch mode, for the same reason: a plain ALTER TABLE DROP COLUMN
    # (SQLite 3.35 and later) leaves the referencing rows alone.
    op.drop_column("users", "erased_at")
