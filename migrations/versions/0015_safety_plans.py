"""Safety plans: one row per saved version of a member's plan, and the link
from a risk alert's acknowledgement to the plan version it made.

Revision ID: 0015_safety_plans
Revises: 0014_inventory
Create Date: 2026-12-06 20:45:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0015_safety_plans"
down_revision = "0014_inventory"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "safety_plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "sections",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_safety_plan_versions_version")),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_safety_plan_versions_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_safety_plan_versions_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_plan_versions")),
        sa.UniqueConstraint(
            "enrolment_id", "version", name=op.f("uq_safety_plan_versions_enrolment_id")
        ),
    )
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safety_plan_version_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_risk_alerts_safety_plan_version_id_safety_plan_versions"),
            "safety_plan_versions",
            ["safety_plan_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_risk_alerts_safety_plan_version_id_safety_plan_versions"),
            type_="foreignkey",
        )
        batch_op.drop_column("safety_plan_version_id")
    op.drop_table("safety_plan_versions")
