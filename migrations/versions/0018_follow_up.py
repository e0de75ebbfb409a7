"""Follow-up contacts: a member meeting may be of kind ``follow_up``.

The follow-up is booked some weeks after a programme's last session (the
programme's ``follow_up_weeks``, kept in the cohort's JSON snapshot, so only
the kind's check constraint changes here).

Revision ID: 0018_follow_up
Revises: 0017_fidelity
Create Date: 2026-12-06 21:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0018_follow_up"
down_revision = "0017_fidelity"
branch_labels = None
depends_on = None

OLD = "kind IN ('pre_group', 'mid_programme', 'post_group')"
NEW = "kind IN ('pre_group', 'mid_programme', 'post_group', 'follow_up')"


def upgrade():
    with op.batch_alter_table("member_meetings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_member_meetings_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_member_meetings_kind"), NEW)


def downgrade():
    op.execute("DELETE FROM member_meetings WHERE kind = 'follow_up'")
    with op.batch_alter_table("member_meetings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_member_meetings_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_member_meetings_kind"), OLD)
