"""Crafted zip containers for the upload tests: real office documents, zip bombs, and the damage an
attacker can do to the bytes (truncation, a lying central directory, lying declared sizes)."""

from __future__ import annotations

import io
import struct
import zipfile
from functools import cache

ODT_MIME = b"application/vnd.oasis.opendocument.text"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIB = 1024 * 1024
CENTRAL_HEADER = b"PK\x01\x02"


def odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODT_MIME)  # stored, first, as ODF requires
        archive.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>", zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def bomb(*, unpacked: int, entry: str = "mimetype", extra: dict[str, bytes] | None = None) -> bytes:
    """A container whose `entry` unpacks to `unpacked` bytes of zeros (about 1/1000 of that packed),
    written in chunks so that building it never holds the unpacked data."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(entry, "w") as handle:
            chunk = bytes(MIB)
            for _ in range(unpacked // MIB):
                handle.write(chunk)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def nested(inner: bytes, depth: int = 3) -> bytes:
    """`inner` packed inside `depth` containers, each looking like an office document."""
    data = inner
    for level in range(depth):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr(f"word/embeddings/level{level}.docx", data)
        data = out.getvalue()
    return data


def many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(count):
            archive.writestr(f"word/{n}", b"")
    return out.getvalue()


# The archives the fuzz test damages, by name: built on first use (a test run that does not reach
# the fuzz test, or an xdist worker that collects it but runs it elsewhere, builds none).
BASES = {
    "odt": odt,
    "docx": docx,
    "mimetype bomb": lambda: bomb(unpacked=64 * MIB),
    "document bomb": lambda: bomb(
        unpacked=64 * MIB, entry="word/document.xml", extra={"[Content_Types].xml": b"<Types/>"}
    ),
    "nested bomb": lambda: nested(bomb(unpacked=64 * MIB, entry="word/document.xml")),
    "60,000 entries": lambda: many_entries(60_000),
}


@cache
def base(name: str) -> bytes:
    """One of BASES, built once per test run."""
    return BASES[name]()


def central_directory_offsets(data: bytes) -> list[int]:
    offsets, at = [], data.find(CENTRAL_HEADER)
    while at >= 0:
        offsets.append(at)
        at = data.find(CENTRAL_HEADER, at + 4)
    return offsets


def with_declared_sizes(data: bytes, *, compressed: int, unpacked: int) -> bytes:
    """Every central-directory entry claims these sizes (the local headers are left as they are)."""
    patched = bytearray(data)
    for at in central_directory_offsets(data):
        struct.pack_into("<LL", patched, at + 20, compressed & 0xFFFFFFFF, unpacked & 0xFFFFFFFF)
    return bytes(patched)
