"""PostgreSQL keeps statistics of the queue tables fresh while they grow.

The run queue and its companions change quickly: a burst of events can take a table from
empty to tens of thousands of rows in seconds, and every run is updated twice. With the
server's defaults (analyse after 10% of a table changes, vacuum after 20%), the planner
may still believe a table is empty and read a tenant's whole history where one index
probe would do; a worker batch then slows in proportion to the queue. These tables are
analysed after 2% of them changes and vacuumed after 5%. SQLite has no such settings.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: tables that grow and churn with traffic
QUEUE_TABLES = ("events", "runs", "steps", "entity_versions", "xrefs", "connection_leases")
SETTINGS = {
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_analyze_threshold": "200",
    "autovacuum_vacuum_scale_factor": "0.05",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    options = ", ".join(f"{k} = {v}" for k, v in SETTINGS.items())
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} SET ({options})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")
