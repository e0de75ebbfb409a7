"""One follow-up per member: a partial unique index on member_meetings.

services/follow_up.py read which members had a follow-up, then inserted the
missing ones; two overlapping clock runs (or the clock and a cohort being
completed) could both insert. The index makes the second insert fail, and the
service skips it. Any duplicates booked before this are merged first: the
earliest follow-up of a member is kept, scores entered at a later duplicate
move to it, and the later ones go with their pending reminders.

Revision ID: 0020_follow_up_once
Revises: 0019_shown
Create Date: 2026-12-06 21:40:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0020_follow_up_once"
down_revision = "0019_shown"
branch_labels = None
depends_on = None

WHERE = "kind = 'follow_up'"
# A member's follow-ups after their first (the ones to merge away). Written out
# in each statement: constant SQL, nothing from outside.


def upgrade():
    op.execute(
        "UPDATE assessments SET meeting_id = ("
        "SELECT MIN(e.id) FROM member_meetings e WHERE e.kind = 'follow_up' "
        "AND e.enrolment_id = (SELECT d.enrolment_id FROM member_meetings d "
        "WHERE d.id = assessments.meeting_id)) "
        "WHERE meeting_id IN (SELECT m.id FROM member_meetings m WHERE m.kind = 'follow_up' "
        "AND EXISTS (SELECT 1 FROM member_meetings e WHERE e.kind = 'follow_up' "
        "AND e.enrolment_id = m.enrolment_id AND e.id < m.id))"
    )
    op.execute(
        "DELETE FROM notifications WHERE ref_type = 'member_meeting' AND status = 'pending' "
        "AND ref_id IN (SELECT m.id FROM member_meetings m WHERE m.kind = 'follow_up' "
        "AND EXISTS (SELECT 1 FROM member_meetings e WHERE e.kind = 'follow_up' "
        "AND e.enrolment_id = m.enrolment_id AND e.id < m.id))"
    )
    op.execute(
        "DELETE FROM member_meetings WHERE id IN (SELECT m.id FROM member_meetings m "
        "WHERE m.kind = 'follow_up' AND EXISTS (SELECT 1 FROM member_meetings e "
        "WHERE e.kind = 'follow_up' AND e.enrolment_id = m.enrolment_id AND e.id < m.id))"
    )
    op.create_index(
        "uq_member_meetings_follow_up",
        "member_meetings",
        ["enrolment_id"],
        unique=True,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade():
    op.drop_index("uq_member_meetings_follow_up", table_name="member_meetings")
