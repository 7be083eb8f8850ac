"""Search reads a stored Swedish tsvector of each message instead of computing it (PostgreSQL only;
SQLite searches with a plain substring match, mailboxes.search).

Search restricts to the threads the user may open before it matches: for a word in most threads
PostgreSQL checks the messages of the user's own threads one by one, and with only the expression
index of migration 0002 each check ran the Swedish stemmer over the message again (measured on the
bench's 200,000 messages, the same query took five times as long). A stored generated column is
worked out once, when the message is written; its GIN index still serves a word in few threads.

Adding the column rewrites the message table: on a large installation, run it in a maintenance
window (about half a minute per 200,000 messages on the bench machine)."""

from django.db import migrations

FORWARDS = [
    "ALTER TABLE mailboxes_message ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('swedish'::regconfig, body)) STORED",
    "CREATE INDEX IF NOT EXISTS message_search_vector_gin ON mailboxes_message USING gin (search_vector)",
    "DROP INDEX IF EXISTS message_body_fts_sv",
]
BACKWARDS = [
    "CREATE INDEX IF NOT EXISTS message_body_fts_sv ON mailboxes_message "
    "USING gin (to_tsvector('swedish'::regconfig, body))",
    "DROP INDEX IF EXISTS message_search_vector_gin",
    "ALTER TABLE mailboxes_message DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0005_clean_attachment_filenames")]

    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS))]
