"""A log that cannot be erased from inside.

Before this, the application's own database role could write an AccessLogPruning anchor covering
today, switch the retention setting on in its transaction and delete recent entries. Now:

- The retention period lives in the database (audit_retention_floor, one row, written by this
  migration and by `manage.py grant_app_role` as the owner; the application role only reads it).
- audit_accesslogentry: a DELETE goes through only for an entry older than that period AND covered
  by an anchor. No transaction setting opens anything any more.
- audit_accesslogpruning: an anchor is taken only for a whole run of entries following the previous
  anchor, all of them older than the period, its last one named with its hash and time.
- audit_access_log_prune(...): the one way in for the application role, SECURITY DEFINER (runs as the
  owner, who made it), EXECUTE granted by grant_app_role. The application role has no DELETE on the
  log and no INSERT on the anchors (grant_app_role), so it cannot even try the above by itself. On a
  database where the application connects as a superuser or as the owner, the triggers still hold;
  only a superuser who switches triggers off gets past them, and verify_access_log then shows it (the
  anchors and entries are signed with a key the database does not have: audit.chain).
- audit_auditevent (the change log): UPDATE and DELETE refused, like the access log.

The keyed chain's new columns (hmac_key_id, through_at, mac) are nullable: rows from before stay as
they were (append-only) and verify as unkeyed up to ACCESS_LOG_UNKEYED_THROUGH_SEQ.
"""

from django.conf import settings
from django.db import migrations, models

PG_FORWARD = r"""
CREATE TABLE IF NOT EXISTS audit_retention_floor (
  id smallint PRIMARY KEY CHECK (id = 1),
  access_log_days integer NOT NULL CHECK (access_log_days >= 1)
);
INSERT INTO audit_retention_floor (id, access_log_days) VALUES (1, {days}) ON CONFLICT (id) DO NOTHING;

-- Entries stamped before this are past the retention period; none are while the floor row is missing.
CREATE OR REPLACE FUNCTION audit_access_log_retention_limit() RETURNS timestamptz AS $$
DECLARE
  days integer;
BEGIN
  SELECT f.access_log_days INTO days FROM audit_retention_floor f WHERE f.id = 1;
  IF days IS NULL THEN
    RETURN '-infinity'::timestamptz;
  END IF;
  RETURN now() - make_interval(days => days);
END
$$ LANGUAGE plpgsql STABLE;

CREATE OR REPLACE FUNCTION audit_accesslogentry_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND OLD.at < audit_access_log_retention_limit()
     AND EXISTS (SELECT 1 FROM audit_accesslogpruning p
                 WHERE p.first_seq <= OLD.seq AND p.through_seq >= OLD.seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_accesslogentry is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_accesslogpruning_guard() RETURNS trigger AS $$
DECLARE
  previous bigint;
  last_hash text;
  last_at timestamptz;
  present bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT coalesce(max(p.through_seq), 0) INTO previous FROM audit_accesslogpruning p;
    SELECT e.entry_hash, e.at INTO last_hash, last_at FROM audit_accesslogentry e
      WHERE e.seq = NEW.through_seq;
    SELECT count(*) INTO present FROM audit_accesslogentry e
      WHERE e.seq BETWEEN NEW.first_seq AND NEW.through_seq;
    IF NEW.first_seq = previous + 1
       AND NEW.through_seq >= NEW.first_seq
       AND NEW.deleted_count = NEW.through_seq - NEW.first_seq + 1
       AND present = NEW.deleted_count
       AND last_hash = NEW.through_hash
       AND NEW.through_at = last_at
       AND NOT EXISTS (SELECT 1 FROM audit_accesslogentry e
                       WHERE e.seq BETWEEN NEW.first_seq AND NEW.through_seq
                         AND e.at >= audit_access_log_retention_limit()) THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_accesslogpruning: an anchor is only for the next run of entries past the retention period'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RAISE EXCEPTION 'audit_accesslogpruning is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_accesslogpruning_append_only ON audit_accesslogpruning;
CREATE TRIGGER audit_accesslogpruning_append_only
  BEFORE INSERT OR UPDATE OR DELETE ON audit_accesslogpruning
  FOR EACH ROW EXECUTE FUNCTION audit_accesslogpruning_guard();

CREATE OR REPLACE FUNCTION audit_access_log_prune(
  p_first_seq bigint, p_through_seq bigint, p_through_hash text, p_through_at timestamptz,
  p_cutoff timestamptz, p_mac text
) RETURNS bigint AS $$
DECLARE
  removed bigint;
BEGIN
  -- The head lock keeps appends out, as for every write to the chain.
  PERFORM 1 FROM audit_accessloghead h WHERE h.id = 1 FOR UPDATE;
  INSERT INTO audit_accesslogpruning
    (at, cutoff, first_seq, through_seq, through_hash, deleted_count, through_at, mac)
    VALUES (now(), p_cutoff, p_first_seq, p_through_seq, p_through_hash,
            p_through_seq - p_first_seq + 1, p_through_at, p_mac);
  DELETE FROM audit_accesslogentry e WHERE e.seq BETWEEN p_first_seq AND p_through_seq;
  GET DIAGNOSTICS removed = ROW_COUNT;
  RETURN removed;
END
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT;

REVOKE ALL ON FUNCTION audit_access_log_prune(bigint, bigint, text, timestamptz, timestamptz, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit_auditevent_guard() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_auditevent is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_auditevent_append_only
  BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_auditevent_guard();
"""

PG_REVERSE = r"""
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_guard();
DROP FUNCTION IF EXISTS audit_access_log_prune(bigint, bigint, text, timestamptz, timestamptz, text);
DROP TRIGGER IF EXISTS audit_accesslogpruning_append_only ON audit_accesslogpruning;
CREATE OR REPLACE FUNCTION audit_accesslogpruning_guard() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_accesslogpruning is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_accesslogpruning_append_only
  BEFORE UPDATE OR DELETE ON audit_accesslogpruning
  FOR EACH ROW EXECUTE FUNCTION audit_accesslogpruning_guard();
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
DROP FUNCTION IF EXISTS audit_access_log_retention_limit();
DROP TABLE IF EXISTS audit_retention_floor;
"""

# SQLite (the embedded first trial) has no roles: the triggers are the whole guard there.
_SQLITE_LIMIT = (
    "coalesce(strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || "
    "(SELECT f.access_log_days FROM audit_retention_floor f WHERE f.id = 1) || ' days'), '0000')"
)

SQLITE_FORWARD = [
    """CREATE TABLE IF NOT EXISTS audit_retention_floor (
         id INTEGER PRIMARY KEY CHECK (id = 1), access_log_days INTEGER NOT NULL CHECK (access_log_days >= 1))""",
    "INSERT OR IGNORE INTO audit_retention_floor (id, access_log_days) VALUES (1, {days})",
    "DROP TRIGGER IF EXISTS audit_accesslogentry_no_delete",
    f"""CREATE TRIGGER audit_accesslogentry_no_delete BEFORE DELETE ON audit_accesslogentry
       WHEN OLD.at >= {_SQLITE_LIMIT}
         OR NOT EXISTS (SELECT 1 FROM audit_accesslogpruning p
                        WHERE p.first_seq <= OLD.seq AND p.through_seq >= OLD.seq)
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogentry is append-only: DELETE refused'); END""",
    f"""CREATE TRIGGER audit_accesslogpruning_insert_past_period BEFORE INSERT ON audit_accesslogpruning
       WHEN NEW.first_seq <> coalesce((SELECT max(p.through_seq) FROM audit_accesslogpruning p), 0) + 1
         OR NEW.through_seq < NEW.first_seq
         OR NEW.deleted_count <> NEW.through_seq - NEW.first_seq + 1
         OR (SELECT count(*) FROM audit_accesslogentry e
             WHERE e.seq BETWEEN NEW.first_seq AND NEW.through_seq) <> NEW.deleted_count
         OR NOT EXISTS (SELECT 1 FROM audit_accesslogentry e WHERE e.seq = NEW.through_seq
                        AND e.entry_hash = NEW.through_hash AND e.at = NEW.through_at)
         OR EXISTS (SELECT 1 FROM audit_accesslogentry e
                    WHERE e.seq BETWEEN NEW.first_seq AND NEW.through_seq AND e.at >= {_SQLITE_LIMIT})
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogpruning: only for entries past the retention period'); END""",
    "DROP TABLE IF EXISTS audit_retention_gate",
    """CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: DELETE refused'); END""",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS audit_accesslogpruning_insert_past_period",
    "DROP TRIGGER IF EXISTS audit_accesslogentry_no_delete",
    "CREATE TABLE IF NOT EXISTS audit_retention_gate (id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER audit_accesslogentry_no_delete BEFORE DELETE ON audit_accesslogentry
       WHEN NOT EXISTS (SELECT 1 FROM audit_retention_gate)
         OR NOT EXISTS (SELECT 1 FROM audit_accesslogpruning p WHERE p.through_seq >= OLD.seq)
       BEGIN SELECT RAISE(ABORT, 'audit_accesslogentry is append-only: DELETE refused'); END""",
    "DROP TABLE IF EXISTS audit_retention_floor",
]


def _run(schema_editor, postgresql: str, sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    days = int(settings.ACCESS_LOG_RETENTION_DAYS)
    # params=None: the SQL holds literal '%' (RAISE and strftime formats), not placeholders.
    if vendor == "postgresql":
        schema_editor.execute(postgresql.replace("{days}", str(days)), params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement.replace("{days}", str(days)), params=None)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}")


def forward(apps, schema_editor):
    _run(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, PG_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_head_advances_over_batches")]

    operations = [
        migrations.AddField(
            model_name="accesslogentry",
            name="hmac_key_id",
            field=models.CharField(blank=True, max_length=16, null=True),
        ),
        migrations.AddField(
            model_name="accesslogpruning",
            name="through_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="accesslogpruning",
            name="mac",
            field=models.CharField(blank=True, max_length=100, null=True),
        ),
        migrations.RunPython(forward, reverse),
    ]
