"""Telling office documents apart by their zip container without unpacking it.

An upload is attacker-shaped: a 200 KiB file can unpack to 200 MiB (a zip bomb), claim sizes it does
not have, or carry a central directory of tens of thousands of entries, which Python's zipfile turns
into objects before anything else can look. So, in this order:
1. the end-of-central-directory record is read from the file's tail and the directory's declared size
   and entry count are bounded before zipfile parses it (a zip64 directory is refused: no document
   of the allowed upload size needs one);
2. every entry's declared sizes are checked against the totals and the ratio a real document has;
3. only then is one entry read, and at most a few hundred bytes of it: zipfile reads compressed data
   in chunks and decompresses no more than asked for, whatever the entry claims.
"""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib

from django.conf import settings

OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF = {
    b"application/vnd.oasis.opendocument.text": "application/vnd.oasis.opendocument.text",
    b"application/vnd.oasis.opendocument.spreadsheet": "application/vnd.oasis.opendocument.spreadsheet",
}
MIMETYPE_MAX_BYTES = 100  # the longest ODF media type is 47 characters
# A document's directory: a few hundred entries of ~100 bytes. zipfile keeps an object per entry.
DIRECTORY_MAX_BYTES = 256 * 1024
DIRECTORY_MAX_ENTRIES = 2000
# Text in a document packs up to ~20:1; well past that is padding made to unpack, not a document.
RATIO_MAX = 100
RATIO_FROM_BYTES = 1024 * 1024  # small entries (a run of spaces) may pack better: they are cheap

END_RECORD = struct.Struct("<4s4H2LH")
END_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_LOCATOR_SIZE = 20
# What a damaged container raises from zipfile and the decompressors it uses.
DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted entry
    EOFError,
    OSError,
    ValueError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


class UnsafeArchive(Exception):
    """A container that claims to unpack to far more than a document does, or whose directory is
    larger than one: refused without being unpacked."""


def _directory_bounds(upload) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory as its end record declares them; None when the file
    has no end record (not a zip). Found as zipfile finds it: at the very end, else the last one in
    the final 64 KiB (a record followed by a comment)."""
    upload.seek(0, 2)
    size = upload.tell()
    tail_size = min(size, END_RECORD.size + 0xFFFF)
    upload.seek(size - tail_size)
    tail = upload.read(tail_size)
    at = len(tail) - END_RECORD.size
    if at < 0:
        return None
    if not (tail[at : at + 4] == END_SIGNATURE and tail[-2:] == b"\0\0"):
        at = tail.rfind(END_SIGNATURE)
        if at < 0 or at + END_RECORD.size > len(tail):
            return None
    if tail[max(at - ZIP64_LOCATOR_SIZE, 0) : at].startswith(ZIP64_LOCATOR_SIGNATURE):
        raise UnsafeArchive("zip64 directory")
    _sig, _disk, _cd_disk, _disk_entries, entries, directory_size, _offset, _comment = END_RECORD.unpack_from(
        tail, at
    )
    return entries, directory_size


def _check_declared_sizes(infos: list[zipfile.ZipInfo]) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > RATIO_FROM_BYTES and info.file_size > RATIO_MAX * max(info.compress_size, 1):
            raise UnsafeArchive(
                f"{info.filename!r} packs {info.file_size / max(info.compress_size, 1):.0f}:1"
            )
    if total > settings.ATTACHMENT_MAX_UNPACKED_BYTES:
        raise UnsafeArchive(f"unpacks to {total} bytes")


def _odf_type(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    if info.file_size > MIMETYPE_MAX_BYTES or info.compress_size > MIMETYPE_MAX_BYTES + 64:
        raise UnsafeArchive("an oversized mimetype entry")
    with archive.open(info) as entry:
        value = entry.read(MIMETYPE_MAX_BYTES + 1)  # never more, whatever the entry claims
    return ODF.get(value.strip()) if len(value) <= MIMETYPE_MAX_BYTES else None


def zip_office_type(upload) -> str | None:
    """The office document type of a zip container (OOXML by its parts, ODF by its `mimetype`
    entry), None when it is not a recognised document or is damaged. Raises UnsafeArchive for a
    container that would unpack to too much. Leaves the upload at its start."""
    try:
        bounds = _directory_bounds(upload)
        if bounds is None:
            return None
        entries, directory_size = bounds
        if entries > DIRECTORY_MAX_ENTRIES or directory_size > DIRECTORY_MAX_BYTES:
            raise UnsafeArchive(f"a directory of {entries} entries, {directory_size} bytes")
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            infos = archive.infolist()
            if len(infos) > DIRECTORY_MAX_ENTRIES:
                raise UnsafeArchive(f"{len(infos)} entries")
            _check_declared_sizes(infos)
            names = {info.filename: info for info in infos}
            if "mimetype" in names:
                return _odf_type(archive, names["mimetype"])
            if "[Content_Types].xml" in names:
                for prefix, content_type in OOXML.items():
                    if any(name.startswith(prefix) for name in names):
                        return content_type
    except DAMAGED:
        return None
    finally:
        upload.seek(0)
    return None
