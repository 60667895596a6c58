"""Logs carry no personal data and no live token: request paths lose their query strings, and the tokens that sit in
paths (a customer's preference link, a one-time download link) are replaced by a placeholder.

`redact` is applied by `RedactFilter` to every record of Django's handlers (settings.LOGGING: the console, and
runserver's access lines) and by `GunicornLogger` to every field of gunicorn's access log (gunicorn.conf.py): the
request line, the path, the query string, the referrer (the preference page's own requests carry its address) and
the headers and environment variables a custom format may name. Python's logging calls it on what is emitted only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

TOKEN = "[token]"
QUERY = "[query]"
# Paths whose next segment is a secret: /privacy/preferences/<signed key>/, the API's and the admin's download links.
_TOKEN_IN_PATH = re.compile(r"(/privacy/preferences/|/subject-exports/|/export/download/)[^/\s?#\"']+")
# A query string after a path: "/api/v1/customers/?q=jeanne%40example.org" (search terms, e-mails, phone numbers).
_QUERY_AFTER_PATH = re.compile(r"(/[^\s?#\"']*)\?[^\s#\"']*")


def redact(text: str) -> str:
    """The text with every path's query string and every token in a path replaced by a placeholder."""
    if "/" not in text:
        return text
    text = _TOKEN_IN_PATH.sub(rf"\1{TOKEN}", text)
    return _QUERY_AFTER_PATH.sub(rf"\1?{QUERY}", text)


class RedactFilter(logging.Filter):
    """Redacts the message of every record its handler emits (settings.LOGGING puts it on each handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class GunicornLogger(Logger):
    """gunicorn's logger, its access log redacted: no query string, no token, whatever access_log_format names."""

    def atoms(self, resp, req, environ, request_time) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        if atoms.get("q"):
            atoms["q"] = QUERY
        return {name: redact(value) if isinstance(value, str) else value for name, value in atoms.items()}
