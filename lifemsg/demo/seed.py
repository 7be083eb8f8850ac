from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from absence.routing import route_message
from eservices.models import Case, EService
from eservices.services import case_create, citizen_get_or_create
from mailboxes.models import Unit
from mailboxes.services.deliveries import deliveries_mark_read
from mailboxes.services.messages import message_store
from mailboxes.services.units import mailbox_personal_for, membership_add, unit_create

from . import data

PASSWORD_FILE = "demo-password"


def demo_password() -> tuple[str, str]:
    """DEMO_PASSWORD from the environment, else one generated for this installation and kept in
    var/demo-password (mode 600). Returns (password, where it came from)."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"], "DEMO_PASSWORD"
    path = Path(settings.VAR_DIR) / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip(), str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password, str(path)


class Seeder:
    def __init__(self, password: str, stdout=None):
        self.password = password
        self.stdout = stdout
        self.created: dict[str, int] = {}
        self.User = get_user_model()

    def _count(self, key: str) -> None:
        self.created[key] = self.created.get(key, 0) + 1

    def user(self, username: str, first: str, last: str, roles: list[str]):
        user = self.User.objects.filter(username=username).first()
        if user is None:
            user = self.User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.invalid",
                kind=self.User.Kind.STAFF,
            )
            user.set_password(self.password)
            user.save()
            user.groups.add(*Group.objects.filter(name__in=roles))
            self._count("users")
        mailbox_personal_for(user)
        return user

    @transaction.atomic
    def organisation(self) -> None:
        units = {}
        for slug, name in data.UNITS:
            unit = Unit.objects.filter(slug=slug).first()
            if unit is None:
                unit = unit_create(name=name, slug=slug)
                self._count("units")
            units[slug] = unit
        for slug, name, unit_slug, can_start in data.ESERVICES:
            _, created = EService.objects.get_or_create(
                slug=slug, defaults={"name": name, "unit": units[unit_slug], "citizen_can_start": can_start}
            )
            if created:
                self._count("eservices")
        for username, first, last, unit_slugs in data.HANDLERS:
            user = self.user(username, first, last, ["Handläggare"])
            for slug in unit_slugs:
                membership_add(unit=units[slug], user=user)
        for username, first, last, slug in data.MANAGERS:
            user = self.user(username, first, last, ["Enhetschef"])
            membership_add(unit=units[slug], user=user)
        for username, first, last, role in data.OFFICE:
            self.user(username, first, last, [role])

    def handlers_of(self, unit: Unit) -> list:
        return list(
            self.User.objects.filter(unit_memberships__unit=unit, groups__name="Handläggare").order_by(
                "username"
            )
        )

    @transaction.atomic
    def citizens(self) -> None:
        eservices = list(EService.objects.order_by("slug"))
        now = timezone.now()
        for index, (number, first, last, protected) in enumerate(data.CITIZENS):
            citizen = citizen_get_or_create(personnummer=number, first_name=first, last_name=last)
            if protected and not citizen.protected_identity:
                citizen.protected_identity = True
                citizen.save(update_fields=["protected_identity"])
            if citizen.cases.exists():
                continue
            self._count("citizens")
            picks = [eservices[index % len(eservices)]]
            if index % 3 == 0:
                picks.append(eservices[(index + 2) % len(eservices)])
            for n, eservice in enumerate(picks):
                handlers = self.handlers_of(eservice.unit)
                # Every fourth case waits for a handler; every third has a co-handler.
                handler = None if (index + n) % 4 == 3 else handlers[(index + n) % len(handlers)]
                co = [h for h in handlers if h != handler][:1] if handler and (index + n) % 3 == 0 else []
                case = case_create(
                    citizen=citizen,
                    eservice=eservice,
                    subject=_subject(eservice.slug),
                    handler=handler,
                    co_handlers=co,
                )
                self._count("cases")
                self._conversation(case, handler, started=now - timedelta(days=10 - (index % 7), hours=n * 3))

    def _conversation(self, case: Case, handler, started) -> None:
        citizen_user = case.citizen.user
        first = message_store(
            thread=case.thread,
            sender=citizen_user,
            body=_citizen_text(case.eservice.slug),
            created_at=started,
        )
        route_message(message_id=first.pk)
        if handler is None:
            return
        reply = message_store(
            thread=case.thread,
            sender=handler,
            sender_mailbox=mailbox_personal_for(handler),
            body="Tack för ditt meddelande. Jag har tagit emot det och återkommer senast på fredag.",
            created_at=started + timedelta(hours=5),
        )
        route_message(message_id=reply.pk)
        # Mark the handler's copy of the first message read, so the demo shows both states.
        if case.citizen.personnummer[-2] in "13579":
            deliveries_mark_read(mailbox=mailbox_personal_for(handler), thread=case.thread, user=handler)
        follow_up = message_store(
            thread=case.thread,
            sender=citizen_user,
            body="Hej igen! Jag undrar om ni behöver fler underlag från mig?",
            created_at=started + timedelta(days=1),
        )
        route_message(message_id=follow_up.pk)


def _subject(slug: str) -> str:
    return {
        "ekonomiskt-bistand": "Ansökan om ekonomiskt bistånd",
        "meddelande-ifo": "Fråga om stödsamtal",
        "stod-lss": "Ansökan om ledsagarservice",
        "stod-aldre": "Ansökan om hemtjänst",
        "inkomstblankett-vo": "Inkomstuppgifter för avgift",
    }.get(slug, "Meddelande")


def _citizen_text(slug: str) -> str:
    return {
        "ekonomiskt-bistand": "Hej! Jag har skickat in kontoutdrag för oktober. Behöver ni något mer?",
        "meddelande-ifo": "Hej, jag skulle vilja boka ett nytt samtal. Passar det nästa vecka?",
        "stod-lss": "Hej! Jag vill veta hur långt min ansökan har kommit.",
        "stod-aldre": "Hej, min mamma behöver hjälp med inköp två gånger i veckan.",
        "inkomstblankett-vo": "Här kommer uppgifter om min pension. Jag får 14 200 kr i månaden.",
    }.get(slug, "Hej!")


def seed(stdout=None) -> dict[str, int]:
    password, _source = demo_password()
    seeder = Seeder(password, stdout)
    seeder.organisation()
    seeder.citizens()
    for extra in _extra_seeders():
        extra(seeder)
    return seeder.created


def _extra_seeders():
    """Later features add their demo data here (each an idempotent `seed(seeder)`)."""
    from importlib import import_module

    found = []
    for module in ("mailboxes.demo", "eservices.demo", "absence.demo", "replies.demo"):
        try:
            found.append(import_module(module).seed)
        except ModuleNotFoundError:
            continue
    return found
