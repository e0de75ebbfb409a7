"""Reminder summary: member session reminders counted per cohort and UTC day.

The Programme page counted "how many members each reminder reached" with one
GROUP BY over the whole outbox; at programme scale that alone missed the page's
300 ms budget (docs/benchmarks.md, issue 26). ``reminder_day_counts`` holds the
counts of closed days, ``reminder_summary_mark`` (one row) the last day they
cover; the app fills both (the nightly clock job, or the first read), so this
migration creates them empty with the mark at NULL. The outbox's existing
``ix_notifications_status_due_at`` serves the rows after the mark.

Revision ID: 0021_reminder_summary
Revises: 0020_follow_up_once
Create Date: 2026-12-06 23:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_reminder_summary"
down_revision = "0020_follow_up_once"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_day_counts",
        sa.Column("cohort_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("due", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("no_channel", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("push", sa.Integer(), nullable=False),
        sa.Column("sms", sa.Integer(), nullable=False),
        sa.Column("email", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cohort_id", "day", name=op.f("pk_reminder_day_counts")),
    )
    mark = op.create_table(
        "reminder_summary_mark",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("through", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_summary_mark")),
    )
    op.bulk_insert(mark, [{"id": 1, "through": None, "updated_at": None}])


def downgrade():
    op.drop_table("reminder_summary_mark")
    op.drop_table("reminder_day_counts")
