"""Demo saved replies (called by `manage.py seed_demo` after the base seed): two per unit, written
by nobody in particular. Idempotent: a unit that has saved replies is left alone."""

from __future__ import annotations

from django.db import transaction

from mailboxes.models import Unit

from .models import SavedReply

TEXTS = (
    (
        "Bekräftelse",
        "Hej!\n\nTack för ditt meddelande. Vi har tagit emot det och återkommer så snart vi kan, "
        "senast inom tre arbetsdagar.\n\nMed vänlig hälsning\n{handläggare}\n{enhet}",
    ),
    (
        "Komplettering behövs",
        "Hej!\n\nFör att vi ska kunna gå vidare behöver vi fler uppgifter från dig. Skicka dem som "
        "svar på det här meddelandet.\n\nMed vänlig hälsning\n{handläggare}\n{enhet}",
    ),
)


@transaction.atomic
def seed(seeder) -> None:
    for unit in Unit.objects.exclude(saved_replies__isnull=False).order_by("pk"):
        SavedReply.objects.bulk_create([SavedReply(unit=unit, title=t, body=b) for t, b in TEXTS])
        for _text in TEXTS:
            seeder._count("saved_replies")
