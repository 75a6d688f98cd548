"""The channels a reminder goes out on: the in-app inbox, email and web push.

Which channels a person gets is read when the reminder is sent (``wanted_channels``), so a later
opt-out also stops a retry. Email and push are slow network calls: each becomes a job that runs
in the worker's thread pool (email) or on its push loop (push) and reports outcomes, touching no
database row. The inbox is this database, so delivering it is a conditional update in
``delivery``.
"""

import http.client
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers

from portal import push
from portal.emails import make_message
from portal.models import Delivery, Patient, Reminder, User
from portal.reminders.texts import Rendered

INBOX, EMAIL, PUSH = Delivery.Channel.INBOX, Delivery.Channel.EMAIL, Delivery.Channel.PUSH
# Emails sent over one SMTP connection by one thread before the next job starts.
EMAIL_CHUNK = 25
# Put into an email rendered once for many reminders, then replaced by each reminder's address.
URL_MARK = "HCCREMINDERURLMARK"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    # A short code (texts.OUTCOME_WORDS says it in words); never message text.
    error: str = ""
    # No point in trying again (the device is gone, the address is refused).
    final: bool = False
    # The push subscription is dead for good (404/410) or refused: remove it.
    drop_device: bool = False


# A slow send: it reports each delivery's outcome as soon as it is known, so the worker records
# it at once (a worker killed later repeats only what was in flight).
type Report = Callable[[tuple[int, Outcome]], None]
type Job = Callable[[Report], None]


def wanted_channels(user: User, devices: Iterable[str]) -> list[tuple[str, str]]:
    """(channel, device) pairs for the person's choices now; the inbox always."""
    pairs: list[tuple[str, str]] = [(INBOX, "")]
    if user.reminders_by_email and user.email:
        pairs.append((EMAIL, ""))
    if user.reminders_by_push:
        pairs += [(PUSH, device) for device in devices]
    return pairs


# --- Email -------------------------------------------------------------------------------


def email_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def email_template(patient: Patient, rendered: Rendered, language: str) -> EmailMultiAlternatives:
    """One reminder email with URL_MARK for its link: rendered once for every reminder of a
    batch that shares the text, then copied per reminder by ``email_for``."""
    context = {
        "title": rendered.title,
        "discreet": patient.discreet,
        "guidance": rendered.body,
        "url": URL_MARK,
        "clinic": patient.clinic,
    }
    return make_message("nobody@invalid", "reminder", context, language)


def email_for(template: EmailMultiAlternatives, reminder: Reminder, url: str) -> EmailMultiAlternatives:
    html = next((str(content) for content, mimetype in template.alternatives if mimetype == "text/html"), "")
    message = EmailMultiAlternatives(
        template.subject,
        str(template.body).replace(URL_MARK, url),
        template.from_email,
        [reminder.recipient.email],
    )
    message.attach_alternative(html.replace(URL_MARK, url), "text/html")
    # The same Message-ID on every attempt: a repeat after a killed worker is one message to
    # mail systems that de-duplicate, not two.
    message.extra_headers["Message-ID"] = f"<reminder-{reminder.code}@{email_domain()}>"
    return message


def email_failure(error: Exception) -> Outcome:
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return Outcome(ok=False, error="email-refused")
    if isinstance(error, OSError | smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return Outcome(ok=False, error="email-unreachable")
    return Outcome(ok=False, error="email-error")


def email_job(items: list[tuple[int, EmailMultiAlternatives]]) -> Job:
    """Send a few emails over one SMTP connection; each gets its own outcome."""

    def run(report: Report) -> None:
        connection = mailers.default
        left = list(items)
        try:
            connection.open()
            while left:
                delivery_id, message = left.pop(0)
                try:
                    connection.send_messages([message])
                except Exception as error:  # noqa: BLE001 - recorded per delivery, retried
                    report((delivery_id, email_failure(error)))
                    # The session may be broken: go on with a fresh connection.
                    connection.close()
                    connection.open()
                else:
                    report((delivery_id, Outcome(ok=True)))
        except Exception as error:  # noqa: BLE001 - no connection: the rest wait for a retry
            for delivery_id, _message in left:
                report((delivery_id, email_failure(error)))
        finally:
            connection.close()

    return run


def email_chunks(
    items: list[tuple[int, EmailMultiAlternatives]],
) -> list[list[tuple[int, EmailMultiAlternatives]]]:
    """Emails in groups for one SMTP connection each: enough groups to keep every thread busy,
    few enough to reuse connections."""
    size = max(1, min(EMAIL_CHUNK, -(-len(items) // settings.REMINDER_THREADS)))
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- Web push -------------------------------------------------------------------------------


def push_payload(reminder: Reminder, rendered: Rendered) -> dict[str, Any]:
    return {
        "title": rendered.title,
        "body": rendered.preview,
        "url": rendered.url,
        # 32 URL-safe characters: usable as the push Topic, and as the notification tag, so a
        # repeat replaces the first on the device.
        "tag": reminder.code.hex,
    }


@dataclass(frozen=True, slots=True)
class PushSend:
    """One push, as a job for the push loop (``push.PushPool``): it reports its outcome."""

    delivery_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, Any]

    async def __call__(self, report: Report) -> None:
        outcome = await push_outcome(self.endpoint, self.p256dh, self.auth, self.payload)
        report((self.delivery_id, outcome))


async def push_outcome(endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> Outcome:
    try:
        status = await push.send(endpoint=endpoint, p256dh=p256dh, auth=auth, payload=payload)
    except push.BlockedAddress:
        # The address now points somewhere the server must not call (DNS changed).
        return Outcome(ok=False, error="push-blocked", final=True, drop_device=True)
    except push.UnusableKeys:
        # Stored before keys were checked at subscription: it would fail at every send.
        return Outcome(ok=False, error="push-keys", final=True, drop_device=True)
    except TimeoutError:
        return Outcome(ok=False, error="push-timeout")
    except (OSError, http.client.HTTPException):
        return Outcome(ok=False, error="push-unreachable")
    except Exception:  # noqa: BLE001 - anything else is retried with backoff
        return Outcome(ok=False, error="push-error")
    if status in (404, 410):
        # The browser dropped the subscription for good.
        return Outcome(ok=False, error="push-gone", final=True, drop_device=True)
    if status == 429 or status >= 500:
        return Outcome(ok=False, error="push-busy")
    if status >= 300:
        return Outcome(ok=False, error="push-refused", final=True)
    return Outcome(ok=True)
