"""Feed cursors get a table of their own (they may outgrow an xref's external id).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_cursors",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", name=op.f("pk_feed_cursors")),
    )
    # Carry over cursors kept as cross-references by earlier releases.
    op.execute(
        "INSERT INTO feed_cursors (tenant_id, connection_id, cursor, updated_at) "
        "SELECT tenant_id, canonical_id, external_id, updated_at FROM xrefs "
        "WHERE object_type = '_feed_cursor'"
    )


def downgrade() -> None:
    op.drop_table("feed_cursors")
