"""A PDF/A-3b conformance check with pikepdf, for the case-file PDF (integrations/pdfa.py).

No full validator is reachable from the package registries (veraPDF is a Java application published
outside them), so this reads the file's structure and checks the requirements of ISO 19005-3 level B
that our renderer could get wrong, each one named in the problem it reports:

- the file header and a trailer /ID (6.1.2, 6.1.3); no encryption (6.1.3);
- the XMP metadata stream in the catalogue, declaring pdfaid:part 3 and pdfaid:conformance B (6.6);
- an output intent GTS_PDFA1 with an embedded ICC profile (6.2.3);
- every font used on a page embedded (FontFile, FontFile2 or FontFile3), with a ToUnicode map (6.2.11);
- no JavaScript, no Launch actions, no additional-actions dictionaries (6.5, 6.6.1);
- no LZW compression (6.1.7).
A negative test (tests/integrations/test_pdfa.py) shows that it refuses an ordinary PDF.
"""

from __future__ import annotations

import io

import pikepdf

PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/ResetForm", "/Rendition", "/Sound", "/Movie"}


def pdfa_problems(content: bytes, *, part: str = "3", conformance: str = "B") -> list[str]:
    """Every PDF/A requirement above that `content` breaks; empty when it passes."""
    problems: list[str] = []
    if not content.startswith(b"%PDF-1."):
        problems.append("header: not %PDF-1.x")
    pdf = pikepdf.open(io.BytesIO(content))
    if pdf.is_encrypted:
        problems.append("encrypted")
    if "/ID" not in pdf.trailer:
        problems.append("trailer: no /ID")
    problems += _metadata_problems(pdf, part=part, conformance=conformance)
    problems += _output_intent_problems(pdf)
    problems += _font_problems(pdf)
    problems += _action_problems(pdf)
    return problems


def _metadata_problems(pdf: pikepdf.Pdf, *, part: str, conformance: str) -> list[str]:
    if "/Metadata" not in pdf.Root:
        return ["catalogue: no XMP metadata stream"]
    meta = pdf.open_metadata()
    got = (str(meta.get(f"{PDFAID}part", "")), str(meta.get(f"{PDFAID}conformance", "")))
    if got != (part, conformance):
        return [f"XMP: pdfaid part/conformance {got}, expected {(part, conformance)}"]
    return []


def _output_intent_problems(pdf: pikepdf.Pdf) -> list[str]:
    intents = pdf.Root.get("/OutputIntents")
    pdfa = [i for i in (intents or []) if i.get("/S") == "/GTS_PDFA1"]
    if not pdfa:
        return ["no GTS_PDFA1 output intent"]
    profile = pdfa[0].get("/DestOutputProfile")
    if profile is None:
        return ["output intent: no DestOutputProfile"]
    data = profile.read_bytes()
    # An ICC profile has the signature "acsp" at byte 36 of its header.
    if data[36:40] != b"acsp":
        return ["output intent: DestOutputProfile is not an ICC profile"]
    return []


def _page_fonts(pdf: pikepdf.Pdf):
    """(name, font dictionary) of every font in the pages' resources, form XObjects included."""
    seen: set = set()

    def walk(resources):
        if resources is None:
            return
        for name, font in (resources.get("/Font") or {}).items():
            if font.objgen not in seen or font.objgen == (0, 0):
                seen.add(font.objgen)
                yield name, font
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                yield from walk(xobject.get("/Resources"))

    for page in pdf.pages:
        yield from walk(page.obj.get("/Resources"))


def _font_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    fonts = list(_page_fonts(pdf))
    if not fonts:
        problems.append("no fonts: the text did not render")
    for name, font in fonts:
        if font.get("/Subtype") == "/Type3":
            continue  # glyphs are content streams of the file itself
        descendant = font.DescendantFonts[0] if font.get("/Subtype") == "/Type0" else font
        descriptor = descendant.get("/FontDescriptor")
        if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            problems.append(f"font {name} ({font.get('/BaseFont')}) not embedded")
        if "/ToUnicode" not in font:
            problems.append(f"font {name} has no ToUnicode map")
    return problems


def _action_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    names = pdf.Root.get("/Names")
    if names is not None and "/JavaScript" in names:
        problems.append("catalogue: JavaScript name tree")
    if "/AA" in pdf.Root:
        problems.append("catalogue: additional actions")
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            action = obj.get("/S")
            if action in FORBIDDEN_ACTIONS:
                problems.append(f"object {obj.objgen}: forbidden action {action}")
            if "/AA" in obj:
                problems.append(f"object {obj.objgen}: additional actions")
            filters = obj.get("/Filter") if isinstance(obj, pikepdf.Stream) else None
            if filters is not None and "/LZWDecode" in (
                [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
            ):
                problems.append(f"object {obj.objgen}: LZW compression")
    return problems
