"""The `<id:...>` path converter for database ids.

Django's `<int:...>` matches any run of digits; a number past the 64-bit range then reaches the
database, where SQLite raises OverflowError (a 500) and PostgreSQL a range error. An id that cannot
exist must answer exactly as a missing one does: a 404, decided here before any view or query runs.
Each urls.py imports this module (registering a converter must precede the patterns that use it).
"""

from django.urls import register_converter

ID_MAX = 2**63 - 1  # BigAutoField and BigIntegerField on every backend


class IdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError("id out of range")  # the resolver takes it as "no match": a 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
