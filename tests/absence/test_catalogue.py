"""The absence catalogue's Swedish is what users see: no other catalogue (the project's, or an app
listed earlier in INSTALLED_APPS) shadows one of its msgids with another wording."""

from pathlib import Path

import polib
from django.utils import translation
from django.utils.translation import gettext, ngettext, pgettext

import absence

CATALOGUE = Path(absence.__file__).parent / "locale" / "sv" / "LC_MESSAGES" / "django.po"


def test_no_absence_msgid_is_shadowed_by_another_catalogue():
    shadowed = []
    with translation.override("sv"):
        for entry in polib.pofile(str(CATALOGUE)):
            if entry.msgid_plural:
                got, want = ngettext(entry.msgid, entry.msgid_plural, 1), entry.msgstr_plural[0]
            elif entry.msgctxt:
                got, want = pgettext(entry.msgctxt, entry.msgid), entry.msgstr
            else:
                got, want = gettext(entry.msgid), entry.msgstr
            if got != want:
                shadowed.append(f"{entry.msgid!r}: {want!r} shown as {got!r}")
    assert shadowed == [], "use a translation context (pgettext / {% translate ... context %}) for these"
