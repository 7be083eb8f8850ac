"""Names of files stored before uploads were renamed by their type: the same cleaning (no control or
bidirectional characters, the detected type's extension) for the rows already there."""

from django.db import migrations


def clean_names(apps, schema_editor):
    from mailboxes.attachments import stored_filename

    Attachment = apps.get_model("mailboxes", "Attachment")
    changed = []
    rows = Attachment.objects.only("id", "filename", "content_type").order_by("id")
    for attachment in rows.iterator(chunk_size=2000):
        name = stored_filename(attachment.filename, attachment.content_type)
        if name != attachment.filename:
            attachment.filename = name
            changed.append(attachment)
        if len(changed) >= 500:
            Attachment.objects.bulk_update(changed, ["filename"])
            changed.clear()
    Attachment.objects.bulk_update(changed, ["filename"])


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0004_drop_redundant_fk_indexes")]

    operations = [migrations.RunPython(clean_names, migrations.RunPython.noop, elidable=True)]
