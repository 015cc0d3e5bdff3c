"""The control plane's schema as flexor wrote it before alembic kept it (SQLite only): the tests
build databases of each old version with it, to check they are brought to the current one."""

from __future__ import annotations

# MIGRATIONS[n] takes a database from schema n to n + 1 (0: a new, empty database).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE environments (
        name TEXT PRIMARY KEY, spec TEXT NOT NULL, registered_at TEXT NOT NULL);
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT NULL, vault TEXT NOT NULL,
        files TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX snapshots_by_vault ON snapshots (vault, id);
    CREATE TABLE bindings (
        environment TEXT NOT NULL, vault TEXT NOT NULL, digest TEXT NOT NULL, spec TEXT NOT NULL,
        bound_at TEXT NOT NULL, PRIMARY KEY (environment, vault));
    CREATE TABLE agents (
        environment TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, spec TEXT NOT NULL,
        digest TEXT NOT NULL, activated_at TEXT NOT NULL, PRIMARY KEY (environment, name));
    CREATE TABLE agent_state (
        environment TEXT NOT NULL, name TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (environment, name));
    """,
    # 2: the runtime — runs (= audit entries), their log lines, the notification outbox
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, environment TEXT NOT NULL, agent TEXT NOT NULL,
        version TEXT NOT NULL, vault TEXT, trigger_type TEXT NOT NULL, trigger_at TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
        audited INTEGER NOT NULL, entry TEXT NOT NULL);
    CREATE INDEX runs_by_agent ON runs (environment, agent, trigger_at);
    CREATE INDEX runs_by_time ON runs (trigger_at);
    CREATE TABLE run_logs (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, level TEXT NOT NULL,
        message TEXT NOT NULL, PRIMARY KEY (run_id, seq));
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, run_id TEXT,
        agent TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL, message TEXT NOT NULL,
        delivery TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX outbox_by_run ON outbox (run_id);
    """,
    # 3: access — API keys (salted hashes only), role grants, deployment requests
    """
    CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY, name TEXT NOT NULL, user TEXT NOT NULL, scopes TEXT NOT NULL,
        hash TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT);
    CREATE TABLE grants (
        user TEXT NOT NULL, vault TEXT NOT NULL, role TEXT NOT NULL, granted_at TEXT NOT NULL,
        granted_by TEXT NOT NULL, PRIMARY KEY (user, vault));
    CREATE TABLE requests (
        request_id TEXT PRIMARY KEY, environment TEXT NOT NULL, plan TEXT NOT NULL,
        digest TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
        status TEXT NOT NULL, approved_by TEXT, approved_at TEXT, applied_at TEXT);
    """,
    # 4: this database's identity (stack states record it) and each environment's protection
    # as recorded once access control is on (lowering it needs an admin key)
    """
    INSERT INTO meta VALUES ('identity', lower(hex(randomblob(16))));
    CREATE TABLE protections (
        environment TEXT PRIMARY KEY, spec TEXT NOT NULL, recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL);
    """,
    # 5: who made each key (a key for a user with no role of their own acts with its maker's)
    """
    ALTER TABLE api_keys ADD COLUMN created_by TEXT;
    """,
    # 6: whose roles a key acts with, decided when it is made (its maker's only for a user who
    # then had no role, and never for an admin key); earlier keys as if made now
    """
    ALTER TABLE api_keys ADD COLUMN acts_as TEXT;
    UPDATE api_keys SET acts_as = created_by WHERE created_by IS NOT NULL
        AND user NOT IN (SELECT user FROM grants) AND scopes NOT LIKE '%"admin"%';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The statements of one migration script."""
    return [part.strip() for part in script.split(";") if part.strip()]
