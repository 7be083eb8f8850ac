"""Swedish personal identity numbers, validated by python-stdnum; shown masked wherever the full
number is not needed."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import personnummer as pnr


def normalise(value: str) -> str:
    """Return the 12-digit form YYYYMMDDNNNN or raise ValidationError with a user-facing message."""
    raw = (value or "").strip()
    try:
        compact = pnr.validate(raw)
    except StdnumError:
        raise ValidationError(
            _("Enter a valid Swedish personal identity number (ÅÅÅÅMMDD-NNNN)."), code="invalid"
        )
    digits = compact.replace("-", "").replace("+", "")
    if len(digits) == 12:
        return digits
    birth = pnr.get_birth_date(compact)
    return f"{birth:%Y%m%d}{digits[-4:]}"


def formatted(full: str) -> str:
    return f"{full[:8]}-{full[8:]}"


def masked(full: str) -> str:
    """Birth date shown, last four digits hidden: enough to tell two citizens apart in a list."""
    return f"{full[:8]}-****"
