"""The chain's head may advance over several entries written in one transaction (a search naming
several citizens logs one entry per citizen under one head lock), still only forward and only when
every entry up to the new head exists and the new head hash is the last entry's hash. Before this the
head advanced one entry per UPDATE."""

from django.db import migrations

PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_accessloghead_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq
     AND (SELECT count(*) FROM audit_accesslogentry e WHERE e.seq > OLD.seq AND e.seq <= NEW.seq)
         = NEW.seq - OLD.seq
     AND EXISTS (SELECT 1 FROM audit_accesslogentry e WHERE e.seq = NEW.seq AND e.entry_hash = NEW.last_hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_accessloghead only advances over entries that exist: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""

PG_FUNCTION_BEFORE = r"""
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
"""

SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS audit_accessloghead_advance_only",
    """CREATE TRIGGER audit_accessloghead_advance_only BEFORE UPDATE ON audit_accessloghead
       WHEN NEW.id <> OLD.id OR NEW.seq <= OLD.seq
         OR (SELECT count(*) FROM audit_accesslogentry e WHERE e.seq > OLD.seq AND e.seq <= NEW.seq)
            <> NEW.seq - OLD.seq
         OR NOT EXISTS (SELECT 1 FROM audit_accesslogentry e
                        WHERE e.seq = NEW.seq AND e.entry_hash = NEW.last_hash)
       BEGIN SELECT RAISE(ABORT, 'audit_accessloghead only advances over entries that exist'); END""",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_accessloghead_advance_only",
    """CREATE TRIGGER audit_accessloghead_advance_only BEFORE UPDATE ON audit_accessloghead
       WHEN NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id
       BEGIN SELECT RAISE(ABORT, 'audit_accessloghead only advances one entry at a time'); END""",
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
        raise RuntimeError(f"No access-log head trigger for database vendor {vendor!r}")


def forward(apps, schema_editor):
    _run(schema_editor, PG_FUNCTION, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, PG_FUNCTION_BEFORE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_triggers")]

    operations = [migrations.RunPython(forward, reverse)]
