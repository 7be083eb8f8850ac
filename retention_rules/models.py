"""Retention (gallring) as data: the rules an archive authority's decision sets, one version per
change, and the runs that apply them — proposed as a review list, approved by a second person, then
carried out in batches (retention_rules.runs)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CITIZEN_THREAD = "citizen_thread", _("Messages in citizen threads")
    INTERNAL_THREAD = "internal_thread", _("Messages in internal threads")
    ATTACHMENT = "attachment", _("Attachments")
    ACCESS_LOG = "access_log", _("Access log")
    CHANGE_LOG = "change_log", _("Change log")


# The kinds whose items a run lists one by one (message or attachment ids); the access log goes as
# one prefix of its chain and the change log is never removed.
ITEM_KINDS = (Kind.CITIZEN_THREAD, Kind.INTERNAL_THREAD, Kind.ATTACHMENT)
MESSAGE_KINDS = (Kind.CITIZEN_THREAD, Kind.INTERNAL_THREAD)


class KeepReason(models.TextChoices):
    RESEARCH_SAMPLE = "research_sample", _("Research sample (born on the 5th, 15th or 25th)")
    OPEN_CASE = "open_case", _("The case is still open")


class RetentionRule(models.Model):
    """One version of the rule for a kind of record. A change adds a version (the old ones are the
    history an archive inspection asks for); the rule in effect is the latest version whose
    `active_from` has come (retention_rules.rules.rules_in_effect)."""

    class Unit(models.TextChoices):
        YEARS = "years", _("years")
        DAYS = "days", _("days")

    kind = models.CharField(_("kind of record"), max_length=20, choices=Kind.choices)
    # Empty: kept, never removed.
    period = models.PositiveIntegerField(_("retention period"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=5, choices=Unit.choices, default=Unit.YEARS)
    decision = models.TextField(_("decision"), help_text=_("The archive authority's decision it follows."))
    research_sample = models.BooleanField(_("keep the research sample"), default=False)
    active_from = models.DateField(_("in effect from"), default=timezone.localdate)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    reason = models.TextField(_("reason for the change"), blank=True)

    class Meta:
        ordering = ["kind", "-active_from", "-id"]
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        # Granted to Systemförvaltare (migration 0002).
        permissions = [
            ("manage_retention", "Can set retention rules and propose retention runs"),
            ("approve_retention", "Can approve a retention run proposed by someone else"),
        ]
        indexes = [models.Index(fields=["kind", "active_from"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.period_text}"

    @property
    def period_text(self) -> str:
        if self.period is None:
            return str(_("kept"))
        return f"{self.period} {self.get_unit_display()}"


class RetentionRun(models.Model):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Each committed batch stamps it: a run in progress whose stamp is old lost its worker.
    progress_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.TextField(_("reason"), blank=True)
    # {kind: rule id} in effect when the list was made: the run stops if that changes.
    rules = models.JSONField(default=dict)
    # {kind: {"cutoff": iso, "period": text, ...}}: what the list was made from (access log: the
    # prefix of the chain, first_seq..through_seq).
    criteria = models.JSONField(default=dict)
    # {kind: {"delete": n, "keep": {reason: n}}}: the review list's counts.
    review = models.JSONField(default=dict)
    # {kind: {row kind: n}}: what the batches removed so far.
    done_counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        constraints = [
            # At most one run waiting or under way: two lists of the same records would both run.
            models.UniqueConstraint(
                models.Value(True),
                condition=Q(state__in=["proposed", "approved", "running"]),
                name="retention_one_open_run",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.PROPOSED, self.State.APPROVED, self.State.RUNNING)


class RetentionItem(models.Model):
    """One record on a run's review list: a message (citizen or internal thread) or an attachment,
    by id (not a foreign key: the record goes, the list stays as the run's record). `keep_reason`
    empty: it goes when the run runs; otherwise it is listed as kept, and why."""

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    keep_reason = models.CharField(max_length=20, choices=KeepReason.choices, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "kind", "object_id"], name="retention_item_once")
        ]
        indexes = [
            # The batches' query: the next items of a kind still to go.
            models.Index(
                fields=["run", "kind", "object_id"],
                condition=Q(keep_reason="", done=False),
                name="retention_item_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}"
