"""Full-text search index on message bodies with the Swedish configuration (PostgreSQL only; SQLite
falls back to a LIKE search in mailboxes.selectors)."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS message_body_fts_sv ON mailboxes_message "
    "USING gin (to_tsvector('swedish'::regconfig, body))"
)
DROP = "DROP INDEX IF EXISTS message_body_fts_sv"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
