"""`in` on integer columns without the values no 64-bit column can hold.

Django already answers an exact or range lookup with such a value by "nothing found"; `in` passes it
on, and SQLite raises OverflowError (a 500) for a posted id list such as a ModelMultipleChoiceField's
or the kept uploads'. The values are dropped here; none left means no row, as for `exact`. Registered
from accounts' AppConfig.ready (Field.register_lookup, Django's documented custom-lookup API)."""

from django.db.models import IntegerField
from django.db.models.lookups import In

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BoundedIn(In):
    def get_prep_lookup(self):
        prepared = super().get_prep_lookup()
        if not self.rhs_is_direct_value():
            return prepared  # a subquery
        return [v for v in prepared if not isinstance(v, int) or INT64_MIN <= v <= INT64_MAX]


def register() -> None:
    IntegerField.register_lookup(BoundedIn)
