"""fair claims: per-tenant queue index, connection limits and leases

Revision ID: 0003
Revises: 0002

Expand-only: one index on runs and two new tables; the previous release ignores them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_runs_tenant_queue",
        "runs",
        ["tenant_id", "status", "available_at", "id"],
        unique=False,
    )
    op.create_table(
        "connection_limits",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", name=op.f("pk_connection_limits")),
    )
    op.create_table(
        "connection_leases",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "connection_id", "run_id", name=op.f("pk_connection_leases")
        ),
    )
    op.create_index(
        "ix_connection_leases_live",
        "connection_leases",
        ["tenant_id", "connection_id", "expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_connection_leases_live", table_name="connection_leases")
    op.drop_table("connection_leases")
    op.drop_table("connection_limits")
    op.drop_index("ix_runs_tenant_queue", table_name="runs")
