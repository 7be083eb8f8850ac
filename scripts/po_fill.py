"""Fill Swedish translations from a Python dict file: python scripts/po_fill.py FILE.py
(FILE defines SV = {msgid: msgstr} or, for plurals, {msgid: [singular, plural]})."""

import runpy
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    table = runpy.run_path(sys.argv[1])["SV"]
    for path in ROOT.glob("**/locale/sv/LC_MESSAGES/django.po"):
        if ".venv" in path.parts:
            continue
        po = polib.pofile(str(path), wrapwidth=0)
        changed = False
        for entry in po:
            value = table.get(entry.msgid)
            if value is None:
                continue
            if entry.msgid_plural and isinstance(value, list | tuple):
                if not all(entry.msgstr_plural.values()):
                    entry.msgstr_plural = {0: value[0], 1: value[1]}
                    changed = True
            elif not entry.msgstr:
                entry.msgstr = value
                changed = True
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
                changed = True
        if changed:
            po.save()


if __name__ == "__main__":
    main()
