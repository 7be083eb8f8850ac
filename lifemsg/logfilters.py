"""Logging filters named in settings.LOGGING."""

import logging


class ForbiddenOnOneLine(logging.Filter):
    """A refused request (403) is an expected answer, not a fault: Django logs it with the
    PermissionDenied traceback attached, many lines per refusal. Kept as its one line (the path and
    status are in the message) so that real errors stand out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
