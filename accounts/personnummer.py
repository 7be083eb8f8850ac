"""Swedish personal identity numbers, validated by python-stdnum, and coordination numbers
(samordningsnummer: the birth day plus 60, for people not registered in Sweden, which case systems
use the same way); shown masked wherever the full number is not needed."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import personnummer as pnr


def normalise(value: str) -> str:
    """Return the 12-digit form YYYYMMDDNNNN or raise ValidationError with a user-facing message."""
    raw = (value or "").strip()
    try:
        compact = pnr.validate(raw)
    except StdnumError:
        coordination = coordination_number(raw)
        if coordination is None:
            raise ValidationError(
                _("Enter a valid Swedish personal identity number (ÅÅÅÅMMDD-NNNN)."), code="invalid"
            )
        return coordination
    digits = compact.replace("-", "").replace("+", "")
    if len(digits) == 12:
        return digits
    birth = pnr.get_birth_date(compact)
    return f"{birth:%Y%m%d}{digits[-4:]}"


def coordination_number(value: str) -> str | None:
    """The 12-digit coordination number (YYYYMM, day + 60, NNNN with a Luhn check digit over the last
    ten), or None. Only the 12-digit form is accepted: the century cannot be guessed."""
    digits = (value or "").strip().replace("-", "")
    if len(digits) != 12 or not digits.isdigit():
        return None
    try:
        dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]) - 60)
    except ValueError:
        return None
    return digits if luhn.is_valid(digits[2:]) else None


def formatted(full: str) -> str:
    return f"{full[:8]}-{full[8:]}"


def masked(full: str) -> str:
    """Birth date shown, last four digits hidden: enough to tell two citizens apart in a list."""
    return f"{full[:8]}-****"
