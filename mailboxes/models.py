import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Unit(models.Model):
    """One of the routine's seven units; owns exactly one group mailbox."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    allows_deputy_forwarding = models.BooleanField(
        _("allows forwarding to a named deputy"),
        default=False,
        help_text=_("If set, an absent handler may forward to a colleague's personal mailbox."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="UnitMembership", related_name="units", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name


class UnitMembership(models.Model):
    """Staff member of a unit. Membership is what grants the unit's group mailbox (through a Django
    group per mailbox holding a guardian object permission): see mailboxes.services.membership_*."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_memberships"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "user"], name="unique_unit_membership")]
        verbose_name = _("unit membership")
        verbose_name_plural = _("unit memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class Mailbox(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        GROUP = "group", _("Group")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=160)
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="personal_mailbox",
    )
    unit = models.OneToOneField(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="group_mailbox"
    )
    access_group = models.OneToOneField(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="mailbox"
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        permissions = [("access_mailbox", "Can open the mailbox and its threads")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="personal", owner__isnull=False, unit__isnull=True))
                | (Q(kind="group", owner__isnull=True, unit__isnull=False)),
                name="mailbox_personal_has_owner_group_has_unit",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP


class Thread(models.Model):
    class Kind(models.TextChoices):
        INTERNAL = "internal", _("Internal")
        CITIZEN = "citizen", _("Citizen")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INTERNAL)
    subject = models.CharField(_("subject"), max_length=200)
    # The citizen a citizen thread concerns (eservices.Case holds the case side: Case.thread).
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="citizen_threads",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("thread")
        verbose_name_plural = _("threads")

    def __str__(self) -> str:
        return self.subject

    @property
    def is_citizen(self) -> bool:
        return self.kind == self.Kind.CITIZEN


class Message(models.Model):
    """Immutable once stored. `created_at` is the received time (inkomstdatum): server time at storing."""

    class Kind(models.TextChoices):
        NORMAL = "normal", _("Message")
        AUTOMATIC = "automatic", _("Automatic message")
        NOTE = "note", _("Internal note")

    # No index of its own: the (thread, created_at) index below serves lookups by thread.
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NORMAL)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sent_messages",
    )
    # The mailbox a staff sender wrote from (their personal one or a group mailbox).
    sender_mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.PROTECT, related_name="sent_messages"
    )
    # Intended recipients of an internal message; for a citizen's message routing derives the mailbox
    # from the case at routing time.
    recipients = models.ManyToManyField(Mailbox, blank=True, related_name="addressed_messages")
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    # Set when routing has placed every delivery; the sweep routes rows where this stays empty.
    routed_at = models.DateTimeField(null=True, blank=True)

    # PostgreSQL also has a GIN index on to_tsvector('swedish', body) (migration 0002); search uses
    # exactly that expression.

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["thread", "created_at"]),
            models.Index(
                fields=["created_at"], condition=Q(routed_at__isnull=True), name="message_unrouted_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.thread_id}:{self.pk}"

    @property
    def sent_by_citizen(self) -> bool:
        return self.sender is not None and self.sender.kind == "citizen"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name is random: the original name is kept in `filename` and never used on disk.
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)
    # Who uploaded it: an upload kept across a re-shown form (mail tip, a field error) may only be
    # attached to a message by the same person.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class Delivery(models.Model):
    """A message placed in a mailbox, with its state there. Never two rows per (message, mailbox)."""

    class Reason(models.TextChoices):
        DIRECT = "direct", _("Direct")
        FORWARDED_ABSENCE = "forwarded_absence", _("Forwarded because the recipient is away")
        FORWARDED_MANUAL = "forwarded_manual", _("Forwarded by hand")
        SENT = "sent", _("Sent")

    # Neither has an index of its own: the unique (message, mailbox) and the (mailbox, thread) indexes
    # below serve lookups by either; every delivery written updates each index of this table.
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.DIRECT)
    # The absent handler whose message this copy stands for (reason forwarded_absence), and the copy
    # it was forwarded from (so handling here shows on the original).
    forwarded_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    forwarded_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="forwarded_copies"
    )
    forwarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    forward_note = models.TextField(blank=True)
    # Set on the original copy when it has been forwarded because its owner is away.
    away_forwarded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["message", "mailbox"], name="unique_delivery_per_mailbox")
        ]
        indexes = [
            models.Index(fields=["mailbox", "thread"]),
            models.Index(fields=["mailbox"], condition=Q(read_at__isnull=True), name="delivery_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}→{self.mailbox_id}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class MailboxThread(models.Model):
    """Per-(mailbox, thread) summary, kept in the same transaction as every delivery and state change,
    so an inbox lists from this table alone (index mailbox, -last_activity_at)."""

    # No index of its own: the unique (mailbox, thread) index below serves lookups by mailbox.
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, related_name="thread_summaries", db_index=False
    )
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="mailbox_summaries")
    last_activity_at = models.DateTimeField()
    message_count = models.PositiveIntegerField(default=0)
    unread_count = models.PositiveIntegerField(default=0)
    latest_sender_name = models.CharField(max_length=200, blank=True)
    latest_snippet = models.CharField(max_length=200, blank=True)
    counterpart_name = models.CharField(max_length=200, blank=True)
    forwarded_for_name = models.CharField(max_length=200, blank=True)
    # Who forwarded the thread here by hand (Delivery.Reason.FORWARDED_MANUAL), for the list tag.
    forwarded_by_name = models.CharField(max_length=200, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "thread"], name="unique_mailbox_thread")]
        indexes = [
            # With the id: lists and search read a mailbox in this exact order, each row as it comes.
            models.Index(fields=["mailbox", "-last_activity_at", "-id"], name="mbthread_list_idx"),
            models.Index(
                fields=["mailbox", "-last_activity_at"],
                condition=Q(unread_count__gt=0),
                name="mbthread_unread_idx",
            ),
            # The "taken by me" filter.
            models.Index(fields=["mailbox", "taken_by", "-last_activity_at"], name="mbthread_taken_idx"),
            # The "not handled" and "forwarded because of absence" filters (mailboxes.thread_filters):
            # in a busy group mailbox both are a small share of the rows.
            models.Index(
                fields=["mailbox", "-last_activity_at"],
                condition=Q(handled_at__isnull=True),
                name="mbthread_open_idx",
            ),
            models.Index(
                fields=["mailbox", "-last_activity_at"],
                condition=~Q(forwarded_for_name=""),
                name="mbthread_away_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}/{self.thread_id}"
