from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import personnummer as pnr
from eservices.models import Case, EService
from mailboxes.models import Mailbox, Message, Unit

MAX_CO_HANDLERS = 20


def _staff_handler(username: str):
    """An active staff member who can work in mailboxes, or None."""
    User = get_user_model()
    user = User.objects.filter(username=username, kind=User.Kind.STAFF, is_active=True).first()
    if user is None or not user.has_perm("accounts.use_mailboxes"):
        return None
    return user


class CaseWriteSerializer(serializers.Serializer):
    """A case as the case system states it (PUT). Names are looked up: e-service and unit by short
    name (slug), handler and co-handlers by username."""

    personnummer = serializers.CharField(
        max_length=13, help_text="The citizen's personal identity number, YYYYMMDD-NNNN."
    )
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    eservice = serializers.SlugField(max_length=60, help_text="Short name (slug) of the e-service.")
    unit = serializers.SlugField(
        max_length=60,
        required=False,
        allow_null=True,
        default=None,
        help_text="Short name of the unit; empty means the e-service's unit.",
    )
    subject = serializers.CharField(max_length=200)
    handler = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        default=None,
        help_text="Username of the handler; empty leaves the case to the unit's group mailbox.",
    )
    co_handlers = serializers.ListField(
        child=serializers.CharField(max_length=150),
        required=False,
        default=list,
        max_length=MAX_CO_HANDLERS,
        help_text="Usernames of the co-handlers.",
    )
    protected_identity = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Set or clear the citizen's protected identity (skyddad identitet); empty leaves it as it "
            "is. Needs a service account holding eservices.set_protected_identity (else 403)."
        ),
    )

    def validate_personnummer(self, value: str) -> str:
        try:
            return pnr.normalise(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages)

    def validate_eservice(self, value: str) -> EService:
        eservice = EService.objects.select_related("unit").filter(slug=value).first()
        if eservice is None:
            raise serializers.ValidationError(_("There is no e-service with this short name."))
        return eservice

    def validate_unit(self, value: str | None) -> Unit | None:
        if value in (None, ""):
            return None
        unit = Unit.objects.filter(slug=value).first()
        if unit is None:
            raise serializers.ValidationError(_("There is no unit with this short name."))
        return unit

    def validate_handler(self, value: str | None):
        if value in (None, ""):
            return None
        user = _staff_handler(value)
        if user is None:
            raise serializers.ValidationError(
                _("There is no active case worker with this username who can use mailboxes.")
            )
        return user

    def validate_co_handlers(self, value: list[str]) -> list:
        users, unknown = [], []
        for username in dict.fromkeys(value):  # keep order, drop repeats
            user = _staff_handler(username)
            if user is None:
                unknown.append(username)
            else:
                users.append(user)
        if unknown:
            raise serializers.ValidationError(
                _("No active case worker who can use mailboxes has the username: %(names)s.")
                % {"names": ", ".join(unknown)}
            )
        return users


class CaseSerializer(serializers.Serializer):
    external_id = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True, help_text="The case number in lifemsg.")
    status = serializers.ChoiceField(choices=Case.Status.choices, read_only=True)
    personnummer = serializers.CharField(source="citizen.personnummer", read_only=True)
    first_name = serializers.CharField(source="citizen.first_name", read_only=True)
    last_name = serializers.CharField(source="citizen.last_name", read_only=True)
    eservice = serializers.CharField(source="eservice.slug", read_only=True)
    unit = serializers.CharField(source="unit.slug", read_only=True)
    subject = serializers.CharField(source="thread.subject", read_only=True)
    handler = serializers.SerializerMethodField()
    co_handlers = serializers.SerializerMethodField()
    protected_identity = serializers.BooleanField(source="citizen.protected_identity", read_only=True)
    thread_id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_handler(self, case: Case) -> str | None:
        return case.handler.username if case.handler_id else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_co_handlers(self, case: Case) -> list[str]:
        return sorted(u.username for u in case.co_handlers.all())


class AttachmentMetaSerializer(serializers.Serializer):
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    received_at = serializers.DateTimeField(source="created_at", read_only=True)
    kind = serializers.ChoiceField(choices=Message.Kind.choices, read_only=True)
    sender_kind = serializers.ChoiceField(choices=["citizen", "staff", "system"], read_only=True)
    read_at = serializers.DateTimeField(
        source="first_read_at",
        read_only=True,
        allow_null=True,
        help_text="When staff first read the message in a mailbox; empty while unread.",
    )
    handled_at = serializers.DateTimeField(source="first_handled_at", read_only=True, allow_null=True)
    attachment_count = serializers.IntegerField(read_only=True)
    # Content: present only when asked for (content=true) with the scope messages:content.
    body = serializers.CharField(required=False)
    attachments = AttachmentMetaSerializer(many=True, required=False)


class MailboxStateSerializer(serializers.Serializer):
    mailbox_kind = serializers.ChoiceField(choices=Mailbox.Kind.choices, read_only=True)
    unit = serializers.CharField(read_only=True, allow_null=True)
    unread_count = serializers.IntegerField(read_only=True)
    handled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    handled_by = serializers.CharField(read_only=True, allow_null=True)


class ThreadSerializer(serializers.Serializer):
    external_id = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    thread_id = serializers.IntegerField(read_only=True)
    subject = serializers.CharField(read_only=True)
    last_message_at = serializers.DateTimeField(read_only=True)
    mailboxes = MailboxStateSerializer(many=True, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)


class ThreadQuerySerializer(serializers.Serializer):
    content = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Include message text and attachment names (needs the scope messages:content).",
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
