"""Trigram indexes for search's substring match of subjects and counterparts' names (PostgreSQL
only; SQLite searches them with a plain scan).

A search for a word in few messages starts from indexes (mailboxes.search, the "index" path): the
messages' GIN index of migration 0006 for the text, and these for a subject or counterpart that
contains the words. They index the expression Django's `icontains` compares on PostgreSQL,
UPPER(column::text), so that the same lookup the rest of search uses can use them.

pg_trgm is a trusted extension: the role that runs the migrations needs the CREATE privilege on the
database (its owner has it), not superuser. Building them reads both tables once (a few seconds per
200,000 threads on the bench machine)."""

from django.db import migrations

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS thread_subject_trgm ON mailboxes_thread "
    "USING gin (UPPER(subject::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS mbthread_counterpart_trgm ON mailboxes_mailboxthread "
    "USING gin (UPPER(counterpart_name::text) gin_trgm_ops)",
]
# The extension is left in place: other objects may have come to use it.
BACKWARDS = [
    "DROP INDEX IF EXISTS thread_subject_trgm",
    "DROP INDEX IF EXISTS mbthread_counterpart_trgm",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0007_summary_filter_indexes")]

    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS))]
