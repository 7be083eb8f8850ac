"""Drop the single-column indexes Django made for four foreign keys whose lookups a composite index
already serves (its leading column): every message, delivery and summary written updated them too.

Only the indexes go; the foreign-key constraints stay as they are (an AlterField would drop and
re-add them, re-checking every row)."""

import django.db.models.deletion
from django.db import migrations, models

# (index, table, column): the names Django gave them (the same on PostgreSQL and SQLite).
INDEXES = [
    ("mailboxes_delivery_mailbox_id_2f39745d", "mailboxes_delivery", "mailbox_id"),
    ("mailboxes_delivery_message_id_12d0f0d7", "mailboxes_delivery", "message_id"),
    ("mailboxes_mailboxthread_mailbox_id_7f93d29b", "mailboxes_mailboxthread", "mailbox_id"),
    ("mailboxes_message_thread_id_c0ec5ec4", "mailboxes_message", "thread_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0003_summary_taken_forwarded_uploader"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="mailbox",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="mailboxes.mailbox",
                    ),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="message",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="mailboxes.message",
                    ),
                ),
                migrations.AlterField(
                    model_name="mailboxthread",
                    name="mailbox",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="thread_summaries",
                        to="mailboxes.mailbox",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="thread",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="messages",
                        to="mailboxes.thread",
                    ),
                ),
            ],
        ),
    ]
