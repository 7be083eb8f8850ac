"""Swedish is the default language and English is complete: every msgid has both translations, and
no template shows a visible string that bypasses translation."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import translations  # noqa: E402

# Shown deliberately in their own language (the language switch) or not words at all.
ALLOWED_LITERALS = {"lifemsg", "In English", "På svenska", "*", "–", "—", "·", "|", "/", "…", "×"}
# Static, bilingual error pages rendered without the database or the translation machinery.
EXEMPT = {"500.html", "503.html"}
ATTRIBUTES = ("aria-label", "alt", "title", "placeholder")
LETTER = re.compile(r"[A-Za-zÅÄÖåäöÉé]")


def template_files() -> list[Path]:
    files = list((ROOT / "templates").rglob("*.html"))
    for app in translations.APPS + ["administration", "integrations"]:
        files += list((ROOT / app / "templates").rglob("*.html"))
    return sorted(f for f in files if f.name not in EXEMPT)


def untranslated(source: str) -> list[str]:
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", text, flags=re.S)
    text = re.sub(r"{%.*?%}", " ", text, flags=re.S)
    text = re.sub(r"{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    problems = []
    for tag in re.findall(r"<[^>]+>", text):
        for attr in ATTRIBUTES:
            for value in re.findall(rf'{attr}="([^"]*)"', tag):
                if LETTER.search(value) and value.strip() not in ALLOWED_LITERALS:
                    problems.append(f'{attr}="{value.strip()}"')
    for chunk in re.split(r"<[^>]+>", text):
        chunk = re.sub(r"&[a-z]+;|&#\d+;", " ", chunk).strip()
        if (
            chunk
            and LETTER.search(chunk)
            and chunk not in ALLOWED_LITERALS
            and not set(chunk.split()) <= ALLOWED_LITERALS
        ):
            problems.append(chunk)
    return problems


def test_every_msgid_has_swedish_and_english_translations():
    assert translations.catalogues(), "no catalogues found"
    assert translations.missing() == []


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_no_untranslated_visible_string(path):
    assert untranslated(path.read_text()) == []


def test_the_check_catches_a_bare_string():
    assert untranslated('<p>Hej {% translate "ok" %}</p><img alt="Logga">') == ['alt="Logga"', "Hej"]


def test_compiled_catalogues_are_current():
    for po in translations.catalogues():
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: run python scripts/translations.py compile"
        assert mo.stat().st_mtime >= po.stat().st_mtime - 1 or _same(po, mo), f"{mo} older than {po}"


def _same(po: Path, mo: Path) -> bool:
    import polib

    compiled = {e.msgid: e.msgstr for e in polib.mofile(str(mo))}
    return all(compiled.get(e.msgid) == e.msgstr for e in polib.pofile(str(po)) if not e.msgid_plural)
