from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import personnummer
from mailboxes.models import Message, Thread, Unit


class EService(models.Model):
    """One of the routine's five e-services; new, unassigned cases go to `unit`."""

    name = models.CharField(_("name"), max_length=160, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="eservices")
    description = models.TextField(_("description"), blank=True)
    # "Meddelande IFO" lets a citizen start a conversation without an existing case.
    citizen_can_start = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("e-service")
        verbose_name_plural = _("e-services")

    def __str__(self) -> str:
        return self.name


class Citizen(models.Model):
    """A citizen's identity. The user row (kind=citizen) is what logs in and sends."""

    class Channel(models.TextChoices):
        NONE = "none", _("No notifications")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message (SMS)")
        BOTH = "both", _("E-mail and text message")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="citizen")
    personnummer = models.CharField(_("personal identity number"), max_length=12, unique=True)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    protected_identity = models.BooleanField(_("protected identity"), default=False)
    # A foreign e-ID's eIDAS person identifier (eservices.oidc): how a citizen without a Swedish
    # personnummer is recognised at login. `personnummer` then holds their coordination number.
    eidas_id = models.CharField(_("eIDAS identifier"), max_length=256, null=True, blank=True, unique=True)
    # Registered address, compared with staff addresses by the log review (audit.selectors).
    address = models.CharField(_("registered address"), max_length=200, blank=True)
    notify_channel = models.CharField(
        _("notifications"), max_length=10, choices=Channel.choices, default=Channel.NONE
    )
    notify_email = models.EmailField(_("e-mail address"), blank=True)
    notify_phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")
        # Granted to Administratör med särskild behörighet and Systemförvaltare (migration 0006).
        permissions = [("set_protected_identity", "Can set and clear a citizen's protected identity")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def personnummer_masked(self) -> str:
        return personnummer.masked(self.personnummer)

    @property
    def personnummer_formatted(self) -> str:
        return personnummer.formatted(self.personnummer)


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="cases")
    eservice = models.ForeignKey(EService, on_delete=models.PROTECT, related_name="cases")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cases")
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    co_handlers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="co_handled_cases"
    )
    thread = models.OneToOneField(Thread, on_delete=models.PROTECT, related_name="case")
    reference = models.CharField(_("case number"), max_length=40, unique=True)
    external_id = models.CharField(_("external case id"), max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    # The citizen's read state: every message shown to them up to this time has been read. One
    # timestamp per case (not a flag per message) so marking read is one UPDATE, and "unread" is
    # created_at > citizen_last_read_at.
    citizen_last_read_at = models.DateTimeField(_("read by the citizen up to"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [
            ("send_to_citizen", "Can send messages to the citizen in this case"),
            # accounts.assign_cases lets a unit manager assign in their own unit(s); this one widens
            # it to every unit (Administratör med särskild behörighet, Systemförvaltare).
            ("assign_any_case", "Can assign handlers and co-handlers to cases in every unit"),
        ]
        indexes = [
            models.Index(fields=["unit", "handler"]),
            # The e-services a unit has cases of: a mailbox list's e-service filter offers those.
            models.Index(fields=["unit", "eservice"], name="case_unit_eservice_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ConversationTopic(models.Model):
    """For an e-service where citizens start conversations themselves ("Meddelande IFO – barn och
    familj samt vuxen"): the choice the citizen makes, and the unit whose group mailbox receives it."""

    class Topic(models.TextChoices):
        CHILDREN_FAMILY = "children_family", _("Children and family")
        ADULTS = "adults", _("Adults")

    eservice = models.ForeignKey(EService, on_delete=models.CASCADE, related_name="topics")
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["eservice", "position", "id"]
        verbose_name = _("conversation topic")
        verbose_name_plural = _("conversation topics")
        constraints = [
            models.UniqueConstraint(fields=["eservice", "topic"], name="unique_topic_per_eservice"),
        ]

    def __str__(self) -> str:
        return f"{self.eservice}: {self.get_topic_display()}"


class NotificationLog(models.Model):
    """One row per (message, channel): a retry after partial success never sends twice. Holds no
    address and no content; `last_error` is the exception class only."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message (SMS)")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="unique_notification_per_channel"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="notif_unsent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}:{self.channel}"
