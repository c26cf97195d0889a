"""SQLAlchemy Core tables. Tenant id leads every primary and unique key.

Times are UNIX epoch seconds (float) so both dialects compare them cheaply; JSON columns are
text written by :mod:`ledgerbridge.store._json` so Decimal amounts keep every digit.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(64)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("brand", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("partner_id", ID, nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sla_tier", sa.String(16), nullable=False, server_default="silver"),
    sa.Column("created_at", sa.Float, nullable=False),
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("environment", sa.String(32), nullable=False, server_default="production"),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
    sa.Column("secret", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("environment", sa.String(32), nullable=False, server_default="production"),
    sa.Column("blueprint_name", sa.String(128), nullable=False),
    sa.Column("blueprint_version", sa.Integer, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.Float, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("connection_id", ID, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("source_version", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "connection_id", "object_type", "external_id", "source_version"
    ),
)

# A run is one execution of a flow for one event; its row is also its job in the queue.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, nullable=True),
    sa.Column("deployment_id", ID, nullable=False),
    sa.Column("flow", sa.String(128), nullable=False),
    sa.Column("entity_key", sa.String(300), nullable=False),
    sa.Column("entity_version", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("available_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_runs_queue", "status", "available_at"),
    sa.Index("ix_runs_entity", "tenant_id", "entity_key", "entity_version"),
    sa.Index("ix_runs_event", "tenant_id", "event_id"),
)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("run_id", ID, primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("idempotency_key", sa.String(128), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_steps_key", "tenant_id", "idempotency_key"),
)

exceptions = sa.Table(
    "exceptions",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("flow", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_kind", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("hint", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float, nullable=True),
    sa.Column("resolved_by", sa.String(128), nullable=True),
    sa.Column("resolution", sa.String(16), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_exceptions_open", "tenant_id", "status", "created_at"),
    sa.Index("ix_exceptions_run", "tenant_id", "run_id"),
)

xrefs = sa.Table(
    "xrefs",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("object_type", sa.String(64), primary_key=True),
    sa.Column("canonical_id", sa.String(200), primary_key=True),
    sa.Column("system", sa.String(64), primary_key=True),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_xrefs_external", "tenant_id", "system", "object_type", "external_id"),
)

entity_versions = sa.Table(
    "entity_versions",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("entity_key", sa.String(300), primary_key=True),
    sa.Column("applied_version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The chain head per tenant: deleting the newest audit row is detected against it, and
# writers serialise on its row.
audit_heads = sa.Table(
    "audit_heads",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Tenancy and access (revision 0002). Environments are named per tenant; API keys and
# users are scoped to a partner (tenant_id NULL) or to one tenant; a key with neither is
# the platform operator's.
environments = sa.Table(
    "environments",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("partner_id", ID, nullable=True, index=True),
    sa.Column("tenant_id", ID, nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("partner_id", ID, nullable=False, index=True),
    sa.Column("tenant_id", ID, nullable=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled_at", sa.Float, nullable=True),
)

# The read position of each connection's change feed. Cursors are opaque to the engine and
# may be long (a feed may list every id it delivered within its last second).
feed_cursors = sa.Table(
    "feed_cursors",
    metadata,
    sa.Column("tenant_id", ID, primary_key=True),
    sa.Column("connection_id", ID, primary_key=True),
    sa.Column("cursor", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Console sessions (revision 0006): the cookie holds a random token; only its SHA-256 is kept,
# so signing out (deleting the row) ends the session even for a copied cookie.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Failed console sign-ins per key (an account and address, or an address), for throttling.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", sa.Float, nullable=False),
)
