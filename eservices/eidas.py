"""Citizens who log in with a foreign e-ID through eIDAS: no Swedish personnummer, an eIDAS person
identifier, and a coordination number (samordningsnummer) when the broker has one.

Matching, in order: the citizen already known by the eIDAS identifier; else the citizen registered
(by the case system, or an earlier login) under the coordination number, who gets the identifier
recorded; else, with a coordination number, a new citizen. Without one, an unknown identifier is
refused: there is no case of theirs to see, and no number to create them under (the municipality can
record the identifier on the citizen when it registers their case). When the identifier and the
number point at two different citizens, the login is refused rather than guessed.
"""

from __future__ import annotations

from django.db import transaction

from .models import Citizen
from .services import citizen_from_eid


class EidasUnknown(LookupError):
    """No citizen has this eIDAS identifier and no coordination number came with it."""


class EidasConflict(LookupError):
    """The eIDAS identifier and the coordination number belong to two different citizens."""


@transaction.atomic
def citizen_from_eidas(
    *, eidas_id: str, coordination_number: str | None, first_name: str = "", last_name: str = ""
) -> Citizen:
    by_id = Citizen.objects.select_for_update().filter(eidas_id=eidas_id).first()
    by_number = (
        Citizen.objects.select_for_update().filter(personnummer=coordination_number).first()
        if coordination_number
        else None
    )
    if by_id is not None and by_number is not None and by_id.pk != by_number.pk:
        raise EidasConflict
    if by_id is not None:
        number = by_id.personnummer
    elif coordination_number:
        number = coordination_number
    else:
        raise EidasUnknown
    citizen = citizen_from_eid(personnummer=number, first_name=first_name, last_name=last_name)
    if citizen.eidas_id != eidas_id:
        Citizen.objects.filter(pk=citizen.pk).update(eidas_id=eidas_id)
        citizen.eidas_id = eidas_id
    return citizen
