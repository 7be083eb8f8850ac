"""Demo data for the citizen portal, on top of the base seed (lifemsg/demo/seed.py): conversation
topics for "Meddelande IFO", e-service descriptions, citizens' notification choices, read state, an
automatic message and a conversation a citizen started. Idempotent: a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from absence.routing import route_message
from mailboxes.models import Message, Unit
from mailboxes.services.messages import message_store

from .models import Case, Citizen, ConversationTopic, EService
from .services import case_create, case_mark_read_by_citizen, citizen_notification_settings_update

DESCRIPTIONS = {
    "ekonomiskt-bistand": "Frågor och kompletteringar till din ansökan om ekonomiskt bistånd.",
    "meddelande-ifo": "Skriv till individ- och familjeomsorgen om barn och familj eller om dig som vuxen.",
    "stod-lss": "Meddelanden om din ansökan om stöd enligt LSS.",
    "stod-aldre": "Meddelanden om din ansökan om stöd till äldre, till exempel hemtjänst.",
    "inkomstblankett-vo": "Meddelanden om din inkomstblankett för avgift inom vård och omsorg.",
}

TOPICS = [
    ("meddelande-ifo", ConversationTopic.Topic.CHILDREN_FAMILY, "ifo-barn-familj", 0),
    ("meddelande-ifo", ConversationTopic.Topic.ADULTS, "ifo-vuxen", 1),
]

# personnummer -> (channel, e-mail, mobile)
NOTIFY = {
    "198001019812": (Citizen.Channel.EMAIL, "alva.lindqvist@example.invalid", ""),
    "198203159820": (Citizen.Channel.SMS, "", "+46701234567"),
    "197507229834": (Citizen.Channel.BOTH, "maja.sundberg@example.invalid", "+46707654321"),
    "194503049852": (Citizen.Channel.EMAIL, "astrid.blom@example.invalid", ""),
}

RECEIPT = (
    "Detta är ett automatiskt meddelande. Vi har tagit emot din ansökan. Handläggningstiden är normalt "
    "upp till fyra veckor. Du behöver inte svara på det här meddelandet."
)

STARTED_BY = "199502289821"  # Saga Dahlberg writes to IFO vuxen through "Meddelande IFO"


@transaction.atomic
def seed(seeder) -> None:
    _eservices(seeder)
    _notify_settings(seeder)
    _read_state(seeder)
    _receipt(seeder)
    _started_conversation(seeder)


def _eservices(seeder) -> None:
    for slug, text in DESCRIPTIONS.items():
        updated = EService.objects.filter(slug=slug, description="").update(description=text)
        if updated:
            seeder._count("eservice_descriptions")
    for slug, topic, unit_slug, position in TOPICS:
        eservice = EService.objects.filter(slug=slug).first()
        unit = Unit.objects.filter(slug=unit_slug).first()
        if eservice is None or unit is None:
            continue
        _, created = ConversationTopic.objects.get_or_create(
            eservice=eservice, topic=topic, defaults={"unit": unit, "position": position}
        )
        if created:
            seeder._count("conversation_topics")


def _notify_settings(seeder) -> None:
    for number, (channel, email, phone) in NOTIFY.items():
        citizen = Citizen.objects.filter(personnummer=number).first()
        # Only a citizen who never chose: a choice made in the demo is theirs to keep.
        if citizen is None or citizen.notify_channel != Citizen.Channel.NONE or citizen.notify_email:
            continue
        citizen_notification_settings_update(citizen=citizen, channel=channel, email=email, phone=phone)
        seeder._count("notification_settings")


def _read_state(seeder) -> None:
    """Half of the citizens have read everything up to the handler's first reply, so the portal shows
    both read and unread cases."""
    for case in (
        Case.objects.filter(citizen_last_read_at__isnull=True).select_related("thread").order_by("id")
    ):
        if case.pk % 2:
            continue
        first_reply = (
            Message.objects.filter(thread_id=case.thread_id, sender__kind="staff")
            .order_by("created_at", "id")
            .values_list("created_at", flat=True)
            .first()
        )
        if first_reply is not None:
            case_mark_read_by_citizen(case=case, up_to=first_reply)
            seeder._count("citizen_read_state")


def _receipt(seeder) -> None:
    for case in (
        Case.objects.filter(eservice__slug="ekonomiskt-bistand").select_related("thread").order_by("id")
    ):
        if Message.objects.filter(thread_id=case.thread_id, kind=Message.Kind.AUTOMATIC).exists():
            continue
        first = Message.objects.filter(thread_id=case.thread_id).order_by("created_at", "id").first()
        if first is None:
            continue
        message = message_store(
            thread=case.thread,
            sender=None,
            body=RECEIPT,
            kind=Message.Kind.AUTOMATIC,
            created_at=first.created_at + timedelta(minutes=1),
        )
        route_message(message_id=message.pk)
        seeder._count("automatic_messages")


def _started_conversation(seeder) -> None:
    citizen = Citizen.objects.select_related("user").filter(personnummer=STARTED_BY).first()
    eservice = EService.objects.filter(slug="meddelande-ifo").first()
    topic = ConversationTopic.objects.filter(eservice=eservice, topic=ConversationTopic.Topic.ADULTS).first()
    if citizen is None or eservice is None or topic is None:
        return
    if Case.objects.filter(citizen=citizen, eservice=eservice, unit=topic.unit).exists():
        return
    case = case_create(
        citizen=citizen,
        eservice=eservice,
        unit=topic.unit,
        subject="Fråga om boendestöd",
        actor=citizen.user,
    )
    message = message_store(
        thread=case.thread,
        sender=citizen.user,
        body="Hej! Jag har fått en ny lägenhet och undrar om jag kan få boendestöd de första månaderna.",
        created_at=timezone.now() - timedelta(hours=3),
    )
    route_message(message_id=message.pk)
    seeder._count("citizen_started_cases")
