"""Channels beside Web Push: SMS and email.

Outbox rows gain the leg they may use, the channel that delivered, the
provider's id and its latest delivery report; preferences gain a channel order
and consent per channel; staff gain a phone; delivery attempts their channel.
Numbers that said STOP and replies kept for facilitators get their tables.
``no_device`` becomes ``no_channel`` (every channel failed or is absent).

Revision ID: 0013_channels
Revises: 0012_referral_erasure
Create Date: 2026-12-06 09:00:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0013_channels"
down_revision = "0012_referral_erasure"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leg", sa.String(length=8), server_default="any", nullable=False)
        )
        batch_op.add_column(sa.Column("channel", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("delivery_state", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_state_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("channel_notes", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("segments", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_notifications_provider_id", ["provider_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_channel_sent_at", ["channel", "sent_at"], unique=False
        )
    op.execute("UPDATE notifications SET status = 'no_channel' WHERE status = 'no_device'")
    op.execute("UPDATE notifications SET channel = 'push' WHERE status = 'sent'")

    with op.batch_alter_table("notification_preferences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channels",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("sms_consent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("email_consent_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=8), server_default="push", nullable=False)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=16), nullable=True))

    op.create_table(
        "sms_opt_outs",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("word", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_sms_opt_outs")),
    )
    op.create_table(
        "sms_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("text", sa.String(length=1600), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("ambiguous", sa.Boolean(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_sms_replies_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["read_by_id"],
            ["users.id"],
            name=op.f("fk_sms_replies_read_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["group_sessions.id"],
            name=op.f("fk_sms_replies_session_id_group_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_replies")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_sms_replies_provider_id")),
    )
    op.create_index(
        "ix_sms_replies_enrolment_id_received_at",
        "sms_replies",
        ["enrolment_id", "received_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_sms_replies_enrolment_id_received_at", table_name="sms_replies")
    op.drop_table("sms_replies")
    op.drop_table("sms_opt_outs")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("notification_preferences", schema=None) as batch_op:
        batch_op.drop_column("email_consent_at")
        batch_op.drop_column("sms_consent_at")
        batch_op.drop_column("channels")
    op.execute("UPDATE notifications SET status = 'no_device' WHERE status = 'no_channel'")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_channel_sent_at")
        batch_op.drop_index("ix_notifications_provider_id")
        batch_op.drop_column("segments")
        batch_op.drop_column("channel_notes")
        batch_op.drop_column("delivery_state")
        batch_op.drop_column("delivery_state_at")
        batch_op.drop_column("provider_id")
        batch_op.drop_column("channel")
        batch_op.drop_column("leg")
