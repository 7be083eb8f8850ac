"""The database itself keeps the access log append-only.

- audit_accesslogentry: UPDATE is always refused. DELETE is refused unless retention is running in
  this transaction (PostgreSQL: the transaction-local setting lifemsg.access_log_retention = 'on';
  SQLite, which has no session settings: a row in audit_retention_gate inserted by the same
  transaction) AND an AccessLogPruning anchor covering the row's seq already exists. So even the
  controlled deletion can only remove a prefix recorded in an anchor.
- audit_accesslogpruning (the anchors): UPDATE and DELETE always refused.
- audit_accessloghead: DELETE refused; UPDATE only advances by exactly one entry (PostgreSQL also
  checks that the new head hash is that entry's hash).

TRUNCATE is not trapped: Django's test flush uses it. Production should not grant TRUNCATE on these
tables to the application role (see audit/README.md).
"""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_accesslogentry_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('lifemsg.access_log_retention', true) = 'on'
     AND EXISTS (SELECT 1 FROM audit_accesslogpruning p WHERE p.through_seq >= OLD.seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_accesslogentry is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_accesslogentry_append_only
  BEFORE UPDATE OR DELETE ON audit_accesslogentry
  FOR EACH ROW EXECUTE FUNCTION audit_accesslogentry_guard();

CREATE OR REPLACE FUNCTION audit_accesslogpruning_guard() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_accesslogpruning is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_accesslogpruning_append_only
  BEFORE UPDATE OR DELETE ON audit_accesslogpruning
  FOR EACH ROW EXECUTE FUNCTION audit_accesslogpruning_guard();

CREATE OR REPLACE FUNCTION audit_accessloghead_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1
     AND EXISTS (SELECT 1 FROM audit_accesslogentry e WHERE e.seq = NEW.seq AND e.entry_hash = NEW.last_hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_accessloghead only advances one entry at a time: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_accessloghead_advance_only
  BEFORE UPDATE OR DELETE ON audit_accessloghead
  FOR EACH ROW EXECUTE FUNCTION audit_accessloghead_guard();
"""

PG_REVERSE = r"""
DROP TRIGGER IF EXISTS audit_accesslogentry_append_only ON audit_accesslogentry;
DROP TRIGGER IF EXISTS audit_accesslogpruning_append_only ON audit_accesslogpruning;
DROP TRIGGER IF EXISTS audit_accessloghead_advance_only ON audit_accessloghead;
DROP FUNCTION IF EXISTS audit_accesslogentry_guard();
DROP FUNCTION IF EXISTS audit_accesslogpruning_guard();
DROP FUNCTION IF EXISTS audit_accessloghead_guard();
"""

SQLITE_FORWARD = [
    "CREATE TABLE IF NOT EXISTS audit_retention_gate (id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER audit_accesslogentry_no_update BEFORE UPDATE ON audit_accesslogentry
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogentry is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_accesslogentry_no_delete BEFORE DELETE ON audit_accesslogentry
       WHEN NOT EXISTS (SELECT 1 FROM audit_retention_gate)
         OR NOT EXISTS (SELECT 1 FROM audit_accesslogpruning p WHERE p.through_seq >= OLD.seq)
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogentry is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_accesslogpruning_no_update BEFORE UPDATE ON audit_accesslogpruning
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogpruning is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_accesslogpruning_no_delete BEFORE DELETE ON audit_accesslogpruning
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogpruning is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_accessloghead_no_delete BEFORE DELETE ON audit_accessloghead
       BEGIN SELECT RAISE(ABORT, 'audit_accessloghead: DELETE refused'); END""",
    """CREATE TRIGGER audit_accessloghead_advance_only BEFORE UPDATE ON audit_accessloghead
       WHEN NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id
       BEGIN SELECT RAISE(ABORT, 'audit_accessloghead only advances one entry at a time'); END""",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_accesslogentry_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslogentry_no_delete",
    "DROP TRIGGER IF EXISTS audit_accesslogpruning_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslogpruning_no_delete",
    "DROP TRIGGER IF EXISTS audit_accessloghead_no_delete",
    "DROP TRIGGER IF EXISTS audit_accessloghead_advance_only",
    "DROP TABLE IF EXISTS audit_retention_gate",
]


def _run(schema_editor, postgresql, sqlite) -> None:
    vendor = schema_editor.connection.vendor
    # params=None: the SQL holds literal '%' (RAISE format) that must not be taken as placeholders.
    if vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement, params=None)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}")


def forward(apps, schema_editor):
    _run(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, PG_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_logreview_pruning")]

    operations = [migrations.RunPython(forward, reverse)]
