from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Thread, Unit

from . import personnummer


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

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [("send_to_citizen", "Can send messages to the citizen in this case")]
        indexes = [models.Index(fields=["unit", "handler"])]

    def __str__(self) -> str:
        return self.reference
