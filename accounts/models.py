from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import PERMISSIONS


class User(AbstractUser):
    """Staff and citizens share one user table so that a message's sender is one foreign key; `kind`
    keeps their sessions apart (accounts.middleware.SessionKindMiddleware)."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        CITIZEN = "citizen", _("Citizen")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STAFF, db_index=True)
    # A staff member's own identity and address (from the HR record), used only by the log review's
    # conflict-of-interest checks (audit.selectors): never shown outside the admin.
    personnummer = models.CharField(_("personal identity number"), max_length=12, blank=True, db_index=True)
    address = models.CharField(_("registered address"), max_length=200, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = list(PERMISSIONS.items())

    @property
    def is_citizen(self) -> bool:
        return self.kind == self.Kind.CITIZEN

    @property
    def is_staff_user(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.display_name


class UserSession(AbstractBaseSession):
    """Django's database session (django.contrib.sessions' own fields and behaviour) with the
    logged-in user's id in a column of its own beside the encoded data (accounts.sessions): reading
    a session brings its user in the same query, and a deleted user's sessions go with them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    @classmethod
    def get_session_store_class(cls):
        # The configured engine (accounts.sessions), which builds on this model.
        return import_module(settings.SESSION_ENGINE).SessionStore


class OtpEnrolmentLink(models.Model):
    """A one-time link an administrator gives a staff member to enrol their second factor
    (accounts.enrolment). Only a hash of the link's token is kept: the link itself is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="otp_enrolment_links"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment link")
        verbose_name_plural = _("enrolment links")

    def __str__(self) -> str:
        return f"enrolment link for user {self.user_id}"
