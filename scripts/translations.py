"""Translation catalogues: one per app (<app>/locale) plus the project's (locale/, for templates/ and
lifemsg/). Source strings are English; Swedish is the default UI language.

  python scripts/translations.py make      # makemessages for every catalogue, then fill English
  python scripts/translations.py compile   # compilemessages
  python scripts/translations.py check     # list msgids lacking a Swedish or English translation
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "accounts",
    "audit",
    "mailboxes",
    "eservices",
    "absence",
    "integrations",
    "administration",
    "replies",
    "retention_rules",
]
LANGS = ["sv", "en"]
DJANGO_ADMIN = [sys.executable, "-P", "-m", "django"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "lifemsg.settings.local"}


def catalogues() -> list[Path]:
    dirs = [ROOT / "locale"] + [ROOT / app / "locale" for app in APPS]
    return [d / lang / "LC_MESSAGES" / "django.po" for d in dirs for lang in LANGS if (d / lang).exists()]


def make() -> None:
    env_args = ["--no-obsolete", "--no-location", "--no-wrap", *[f"-l{lang}" for lang in LANGS]]
    extra = [f"--ignore={app}/*" for app in APPS] + ["--ignore=.venv/*", "--ignore=tests/*", "--ignore=var/*"]
    (ROOT / "locale").mkdir(exist_ok=True)
    subprocess.run([*DJANGO_ADMIN, "makemessages", *env_args, *extra], cwd=ROOT, check=True, env=ENV)
    for app in APPS:
        (ROOT / app / "locale").mkdir(exist_ok=True)
        subprocess.run([*DJANGO_ADMIN, "makemessages", *env_args], cwd=ROOT / app, check=True, env=ENV)
    fill_english()


def fill_english() -> None:
    """English is the source language: its catalogue maps each msgid to itself."""
    for path in catalogues():
        if path.parent.parent.name != "en":
            continue
        po = polib.pofile(str(path), wrapwidth=0)
        for entry in po:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
            else:
                entry.msgstr = entry.msgid
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        po.save()


def missing() -> list[str]:
    problems = []
    for path in catalogues():
        po = polib.pofile(str(path), wrapwidth=0)
        for entry in po:
            if entry.obsolete:
                continue
            translated = all(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr)
            if not translated or "fuzzy" in entry.flags:
                problems.append(f"{path.relative_to(ROOT)}: {entry.msgid!r}")
    return problems


def compile_all() -> None:
    for path in catalogues():
        po = polib.pofile(str(path), wrapwidth=0)
        po.save_as_mofile(str(path.with_suffix(".mo")))


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "make":
        make()
    elif command == "compile":
        compile_all()
    elif command == "check":
        problems = missing()
        print("\n".join(problems) or "all translated")
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
