import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('proposed', 'Waiting for approval'), ('approved', 'Approved'), ('running', 'Running'), ('done', 'Done'), ('cancelled', 'Cancelled'), ('failed', 'Failed')], default='proposed', max_length=10, verbose_name='state')),
                ('proposed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='proposed')),
                ('approved_at', models.DateTimeField(blank=True, null=True, verbose_name='approved')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('progress_at', models.DateTimeField(blank=True, null=True)),
                ('end_reason', models.TextField(blank=True, verbose_name='reason')),
                ('rules', models.JSONField(default=dict)),
                ('criteria', models.JSONField(default=dict)),
                ('review', models.JSONField(default=dict)),
                ('done_counts', models.JSONField(default=dict)),
                ('approved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'retention run',
                'verbose_name_plural': 'retention runs',
                'ordering': ['-proposed_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='RetentionItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('citizen_thread', 'Messages in citizen threads'), ('internal_thread', 'Messages in internal threads'), ('attachment', 'Attachments'), ('access_log', 'Access log'), ('change_log', 'Change log')], max_length=20)),
                ('object_id', models.BigIntegerField()),
                ('keep_reason', models.CharField(blank=True, choices=[('research_sample', 'Research sample (born on the 5th, 15th or 25th)'), ('open_case', 'The case is still open')], max_length=20)),
                ('done', models.BooleanField(default=False)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='retention_rules.retentionrun')),
            ],
        ),
        migrations.CreateModel(
            name='RetentionRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('citizen_thread', 'Messages in citizen threads'), ('internal_thread', 'Messages in internal threads'), ('attachment', 'Attachments'), ('access_log', 'Access log'), ('change_log', 'Change log')], max_length=20, verbose_name='kind of record')),
                ('period', models.PositiveIntegerField(blank=True, null=True, verbose_name='retention period')),
                ('unit', models.CharField(choices=[('years', 'years'), ('days', 'days')], default='years', max_length=5, verbose_name='unit')),
                ('decision', models.TextField(help_text="The archive authority's decision it follows.", verbose_name='decision')),
                ('research_sample', models.BooleanField(default=False, verbose_name='keep the research sample')),
                ('active_from', models.DateField(default=django.utils.timezone.localdate, verbose_name='in effect from')),
                ('changed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='changed')),
                ('reason', models.TextField(blank=True, verbose_name='reason for the change')),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'retention rule',
                'verbose_name_plural': 'retention rules',
                'ordering': ['kind', '-active_from', '-id'],
                'permissions': [('manage_retention', 'Can set retention rules and propose retention runs'), ('approve_retention', 'Can approve a retention run proposed by someone else')],
                'indexes': [models.Index(fields=['kind', 'active_from'], name='retention_r_kind_fe9fdc_idx')],
            },
        ),
        migrations.AddConstraint(
            model_name='retentionrun',
            constraint=models.UniqueConstraint(models.Value(True), condition=models.Q(('state__in', ['proposed', 'approved', 'running'])), name='retention_one_open_run'),
        ),
        migrations.AddIndex(
            model_name='retentionitem',
            index=models.Index(condition=models.Q(('done', False), ('keep_reason', '')), fields=['run', 'kind', 'object_id'], name='retention_item_pending'),
        ),
        migrations.AddConstraint(
            model_name='retentionitem',
            constraint=models.UniqueConstraint(fields=('run', 'kind', 'object_id'), name='retention_item_once'),
        ),
    ]
