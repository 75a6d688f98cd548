"""Logging pieces: secrets and search words out of every record, and error reports to
ADMINS that carry where it broke but none of the request's data."""

import logging
import re
import traceback

from django.conf import settings
from django.core.mail import EmailMessage

# A path segment that is a credential, and any query string (search words can be names).
SECRET_PATHS = re.compile(
    r"(/calendar/|/invitation/|/accounts/password/reset/key/|/accounts/confirm-email/)[^/\s\"'?]+"
)
QUERY = re.compile(r"\?[^\s\"']*")


def redact(text: str) -> str:
    return QUERY.sub("?[…]", SECRET_PATHS.sub(r"\1[…]", text))


class RedactSecrets(logging.Filter):
    """Django's request and server logs print the path: ``Not Found: /calendar/<token>.ics``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class AdminEmailHandler(logging.Handler):
    """Errors by email to ADMINS, through the outbox so a request never waits for a mail
    server. Only the message and the stack of file names and lines: Django's own report
    would add the request's data and local variables, which hold patient details."""

    def emit(self, record: logging.LogRecord) -> None:
        if not settings.ADMINS:
            return
        from portal import outbox

        try:
            message = record.getMessage()
            body = message
            if record.exc_info and record.exc_info[0] is not None:
                error_type, _error, stack = record.exc_info
                body += "\n\n" + "".join(traceback.format_tb(stack)) + error_type.__name__
            subject = f"{settings.EMAIL_SUBJECT_PREFIX}{record.levelname}: {message.splitlines()[0][:150]}"
            outbox.enqueue(
                EmailMessage(subject, body, settings.SERVER_EMAIL, list(settings.ADMINS)), kind="error-report"
            )
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
