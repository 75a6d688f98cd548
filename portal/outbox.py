"""The email outbox: requests write rows, the sendreminders worker sends them.

``enqueue`` stores a rendered message in the caller's transaction, so an email exists
exactly when the change that caused it committed. ``send_due_emails`` is one pass of the
worker: claim due rows with a lease (the reminder worker's pattern), send each once, retry
failures with backoff up to a bound, and drop what expired (a sign-in code nobody can use).
"""

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from portal.models import OutgoingEmail

logger = logging.getLogger(__name__)


def enqueue(
    message: EmailMessage, *, kind: str, expires_in: int | None = None, now: datetime | None = None
) -> list[OutgoingEmail]:
    """Store one row per recipient; the worker sends them after this transaction commits."""
    now = now or timezone.now()
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    body_text = message.body if message.content_subtype == "plain" else ""
    if message.content_subtype == "html":
        html = message.body
    return OutgoingEmail.objects.bulk_create(
        OutgoingEmail(
            kind=kind[:60],
            sender=str(message.from_email or "")[:320],
            to=to,
            subject=str(message.subject)[:255],
            body_text=body_text,
            body_html=html,
            next_attempt_at=now,
            expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
            created_at=now,
        )
        for to in message.to
    )


def message_for(row: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        row.subject, row.body_text, row.sender or settings.DEFAULT_FROM_EMAIL, [row.to]
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    # The same Message-ID on every attempt: a repeat after a killed worker is one message to
    # mail systems that de-duplicate, not two.
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    message.extra_headers["Message-ID"] = f"<email-{row.code}@{domain}>"
    return message


def due(now: datetime):  # type: ignore[no-untyped-def]
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return OutgoingEmail.objects.filter(
        unclaimed, status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now
    )


def has_due_emails(now: datetime | None = None) -> bool:
    """A cheap look (no lock, no write) for the worker's idle loop."""
    return due(now or timezone.now()).exists()


def claim_due(now: datetime, *, limit: int) -> tuple[uuid.UUID, list[OutgoingEmail]]:
    """Claim due emails with a lease: a conditional update, so two workers never hold the same
    row; on PostgreSQL the candidates are picked with FOR UPDATE SKIP LOCKED."""
    token = uuid.uuid4()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    with transaction.atomic():
        candidates = due(now)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        OutgoingEmail.objects.filter(unclaimed, pk__in=ids, status=OutgoingEmail.Status.PENDING).update(
            claim_token=token, claimed_until=now + timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
        )
    return token, list(
        OutgoingEmail.objects.filter(pk__in=ids, claim_token=token).order_by("next_attempt_at")
    )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.EMAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def send_due_emails(*, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass: returns counts of emails claimed, sent, retried, failed and expired."""
    now = now or timezone.now()
    done: Counter[str] = Counter()
    token, claimed = claim_due(now, limit=limit or settings.EMAIL_BATCH_SIZE)
    done["emails_claimed"] = len(claimed)
    for row in claimed:
        mine = OutgoingEmail.objects.filter(pk=row.pk, claim_token=token)
        finished = {"claim_token": None, "claimed_until": None, "body_text": "", "body_html": ""}
        if row.expires_at and row.expires_at <= now:
            mine.update(status=OutgoingEmail.Status.EXPIRED, **finished)
            done["emails_expired"] += 1
            continue
        try:
            message_for(row).send()
        except Exception as error:  # noqa: BLE001 - any SMTP failure is retried
            attempts = row.attempts + 1
            code = f"smtp-{type(error).__name__}"[:100]
            # Row ids and error types only: the message may hold a code or a name.
            logger.warning("Email %s (%s) failed: %s", row.pk, row.kind, code)
            if attempts >= settings.EMAIL_MAX_ATTEMPTS:
                mine.update(status=OutgoingEmail.Status.FAILED, attempts=attempts, error=code, **finished)
                done["emails_failed"] += 1
            else:
                mine.update(
                    attempts=attempts,
                    error=code,
                    next_attempt_at=now + backoff(attempts),
                    claim_token=None,
                    claimed_until=None,
                )
                done["emails_retry"] += 1
            continue
        mine.update(
            status=OutgoingEmail.Status.SENT,
            attempts=row.attempts + 1,
            sent_at=timezone.now(),
            error="",
            **finished,
        )
        done["emails_sent"] += 1
    if claimed:
        # Rows pile up only while emails are sent, so that is when old ones go.
        done["emails_forgotten"] = forget_finished_emails(now=now)
    return done


def forget_finished_emails(*, now: datetime | None = None) -> int:
    """Drop finished rows after EMAIL_KEEP_DAYS: every sign-in code makes one, and after a
    while they answer no question an operator asks."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EMAIL_KEEP_DAYS)
    finished = OutgoingEmail.objects.exclude(status=OutgoingEmail.Status.PENDING).filter(
        created_at__lt=cutoff
    )
    return finished.delete()[0]


def oldest_due_at(now: datetime | None = None) -> datetime | None:
    """When the longest-waiting due email became due (for /healthz)."""
    now = now or timezone.now()
    found = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now)
    return found.aggregate(oldest=Min("next_attempt_at"))["oldest"]
