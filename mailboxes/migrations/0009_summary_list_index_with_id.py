"""The mailbox list index (mailbox, -last_activity_at) gets the id as its last column: lists and
search order a mailbox's summaries by (-last_activity_at, -id), and with the index in exactly that
order PostgreSQL reads them one by one as the page needs them, where it otherwise sorted each batch
of equal times (in batches of at least 32 rows) on top of the index. Search tests each row as it
comes (mailboxes.search), so reading ahead cost a test a row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0008_search_trigram_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="mailboxthread", name="mbthread_list_idx"),
        migrations.AddIndex(
            model_name="mailboxthread",
            index=models.Index(fields=["mailbox", "-last_activity_at", "-id"], name="mbthread_list_idx"),
        ),
    ]
