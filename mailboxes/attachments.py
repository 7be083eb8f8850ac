"""Attachments: the same rules for staff and citizens. The type is decided by the file's content
(magic bytes, python `filetype`), never by its name; size and count limits come from settings. Files
are stored under PRIVATE_MEDIA_ROOT with a random name and only ever served by access-checked views."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import filetype
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from .archives import UnsafeArchive, zip_office_type
from .models import Attachment


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str


# Detected content type -> what we store. Office documents (docx/xlsx/pptx, odt/ods) are zip
# containers: they are told apart by their inner structure, see _office_type.
ALLOWED: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/heic": "HEIC",
    "image/webp": "WebP",
    "application/msword": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "OpenDocument",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The extension a stored file gets for its detected type; the first is used when the name has none
# of them (a PDF named report.html is stored as report.pdf).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/heic": (".heic", ".heif"),
    "image/webp": (".webp",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
}
# Control and format characters (Unicode Cc, Cf: bidirectional overrides, zero-width characters),
# line and paragraph separators, and path separators never belong in a file name.
UNSAFE_IN_NAMES = {"Cc", "Cf", "Zl", "Zp"}
FALLBACK_STEM = "bilaga"


def clean_filename(name: str | None) -> str:
    """The name as a person should see it: without control or bidirectional characters (so that
    "photo" + U+202E + "gpj.exe" cannot show as "photoexe.jpg") and without any folder part."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c) not in UNSAFE_IN_NAMES)
    return name.replace("/", "").replace("\\", "").strip()


def _looks_like_extension(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isalnum() and not text.isdigit()


def stored_filename(name: str | None, content_type: str) -> str:
    """The clean name with the extension of the detected type, at most 200 characters."""
    name = clean_filename(name)
    extensions = EXTENSIONS.get(content_type)
    if not extensions:  # a type allowed once and no longer: only cleaned
        return (name.strip(" .") or FALLBACK_STEM)[:200]
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, extensions[0]
    elif f".{extension.lower()}" in extensions:
        extension = f".{extension}"  # kept as written (.JPEG)
    elif not _looks_like_extension(extension):
        stem, extension = name, extensions[0]  # "Ansökan 2026.01.15" keeps its date
    else:
        extension = extensions[0]  # another type's extension is replaced (report.html -> report.pdf)
    stem = stem.strip(" .") or FALLBACK_STEM
    return stem[: 200 - len(extension)] + extension


def _office_type(upload) -> str | None:
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head == OLE_MAGIC:  # legacy .doc/.xls compound file
        name = (upload.name or "").lower()
        return "application/vnd.ms-excel" if name.endswith(".xls") else "application/msword"
    return zip_office_type(upload)


def detect_content_type(upload) -> str | None:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    detected = kind.mime if kind else None
    if detected in (None, "application/zip", "application/x-ole-storage") or (detected or "").startswith(
        "application/vnd"
    ):
        office = _office_type(upload)
        if office:
            return office
    return detected if detected in ALLOWED else None


def allowed_labels() -> str:
    return ", ".join(sorted(set(ALLOWED.values())))


def validate_upload(upload) -> str:
    """Return the content type, or raise ValidationError with a message for the user."""
    name = clean_filename(upload.name)
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("The file “%(name)s” is %(size)s; the limit is %(limit)s."),
            code="too_large",
            params={
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            },
        )
    if upload.size == 0:
        raise ValidationError(_("The file “%(name)s” is empty."), code="empty", params={"name": name})
    try:
        content_type = detect_content_type(upload)
    except UnsafeArchive:
        raise ValidationError(
            _(
                "The file “%(name)s” could not be checked: it is damaged or unpacks to far more than "
                "its size. Save it again, or send it as a PDF."
            ),
            code="unsafe_archive",
            params={"name": name},
        ) from None
    if content_type is None:
        raise ValidationError(
            _("The file “%(name)s” is not an allowed type. Allowed: %(types)s."),
            code="forbidden_type",
            params={"name": name, "types": allowed_labels()},
        )
    return content_type


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Zero or more files; each checked by content and size; at most ATTACHMENT_MAX_COUNT."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        kwargs.setdefault(
            "help_text",
            _("PDF, images or office documents, at most %(size)s per file.")
            % {"size": filesizeformat(settings.ATTACHMENT_MAX_BYTES)},
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > settings.ATTACHMENT_MAX_COUNT:
            raise ValidationError(
                _("You can attach at most %(count)s files."), params={"count": settings.ATTACHMENT_MAX_COUNT}
            )
        errors = []
        cleaned = []
        # The files that passed, also when another did not: the form keeps them for the next try
        # (AttachmentsMixin.keep_uploads), so that only the refused one has to be chosen again.
        self.accepted = cleaned
        for upload in files:
            try:
                cleaned.append((upload, validate_upload(upload)))
            except ValidationError as exc:
                errors.extend(exc.error_list)
        if errors:
            raise ValidationError(errors)
        return cleaned


def attachments_check_attachable(attachments: Sequence[Attachment], *, sender) -> None:
    """PermissionDenied unless every one is `sender`'s own upload not yet attached to a message:
    whatever a caller passes (the forms offer no others: mailboxes.forms.AttachmentsMixin), no one
    sends someone else's file. Checked on the rows given, no query."""
    owner = getattr(sender, "pk", None)
    if any(a.uploaded_by_id != owner or a.message_id is not None for a in attachments):
        raise PermissionDenied


def attachments_store(files: Sequence[tuple], *, uploaded_by=None) -> list[Attachment]:
    """Store validated uploads (from AttachmentsField) unattached; message_store attaches them.
    `uploaded_by` lets a re-shown form keep them (see mailboxes.forms.AttachmentsMixin)."""
    stored = []
    for upload, content_type in files:
        attachment = Attachment(
            filename=stored_filename(upload.name, content_type),
            content_type=content_type,
            size=upload.size,
            uploaded_by=uploaded_by if getattr(uploaded_by, "pk", None) else None,
        )
        attachment.file.save(attachment.filename, upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored
