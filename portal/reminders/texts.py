"""What reminders say: titles, the clinical text (templates in reminders/, from
shared/clinical/tvec-facts.md), discreet previews, and delivery outcomes in plain words.

Texts are rendered when a reminder is sent or read, never stored, so a fixed template reaches
reminders already planned. ``TextKey`` names everything a text depends on: the worker renders
each distinct key once per batch.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.models import Delivery, Patient, Reminder
from portal.reminders import planning
from portal.reminders.planning import FOLLOW_UP_DAYS, Audience, Rule

# Titles shown when the patient turned discreet mode off. With discreet mode on (the default)
# previews say only DISCREET_TITLE and DISCREET_BODY; the guidance is behind the link.
RULE_TITLES: dict[Rule, Promise] = {
    Rule.VISIT_REMINDER: _("Your treatment visit is tomorrow"),
    Rule.DRESSING_CHECK: _("Check the dressings today"),
    Rule.DRESSING_SAFETY: _("Please do not handle the dressings"),
    Rule.DRESSING_REVIEW: _("Dressing review: is every site dry?"),
    Rule.SYMPTOM_WATCH: _("How are you feeling after your treatment?"),
}
VISIT_TODAY_TITLE = _("Your treatment visit is today")
DISCREET_TITLE = _("Home Care Companion")
DISCREET_BODY = _("You have a new reminder. Open it to read it.")

# Delivery outcomes as the clinic reads them (codes from portal.reminders.channels).
OUTCOME_WORDS: dict[str, Promise] = {
    "email-unreachable": _("The email server could not be reached."),
    "email-refused": _("The email server refused the message."),
    "email-error": _("The email could not be sent."),
    "push-unreachable": _("The notification service could not be reached."),
    "push-timeout": _("The notification service did not answer in time."),
    "push-busy": _("The notification service was busy."),
    "push-refused": _("The notification service refused the message."),
    "push-gone": _("This device no longer accepts notifications."),
    "push-blocked": _("The notification address is not allowed."),
    "push-keys": _("The device's notification keys could not be used. The device was removed."),
    "push-error": _("The notification could not be sent."),
    "device-removed": _("The device was removed."),
    "opted-out": _("The person turned this channel off."),
    "cancelled": _("The reminder was cancelled."),
    "too-late": _("It was too late to send."),
}
UNKNOWN_OUTCOME = _("It could not be sent.")

# Unicode's left-to-right isolate (LRI ... PDI). A phone number in right-to-left text is laid
# out right to left otherwise: "+1 555 0100" reads "0100 555 1+", and a patient could misdial.
# The texts are plain text (push, email, inbox, the reminder's page), so the characters, not
# markup; in a left-to-right language they change nothing on screen.
LRI, PDI = "\u2066", "\u2069"


def ltr_isolate(text: str) -> str:
    """``text`` kept left to right wherever it stands; "" stays "" (templates test for it)."""
    return f"{LRI}{text}{PDI}" if text else text


def outcome_words(code: str) -> str:
    return str(OUTCOME_WORDS.get(code, UNKNOWN_OUTCOME)) if code else ""


def recipient_zone(reminder: Reminder) -> str:
    """The zone the reminder was planned in: the patient record's for the patient, the
    caregiver's own otherwise."""
    if reminder.audience == Audience.PATIENT:
        return str(reminder.patient.time_zone)
    return str(reminder.recipient.time_zone)


def day_zero(reminder: Reminder) -> date:
    visit = reminder.visit
    return planning.visit_day_zero(
        visit.local_date, visit.local_time, reminder.patient.clinic.time_zone, recipient_zone(reminder)
    )


def visit_is_today(reminder: Reminder) -> bool:
    """A visit reminder sent on the visit day (the day before had no time left) says "today"."""
    return (
        reminder.rule == Rule.VISIT_REMINDER
        and reminder.day is not None
        and reminder.day >= day_zero(reminder)
    )


def reminder_title(reminder: Reminder) -> str:
    if visit_is_today(reminder):
        return str(VISIT_TODAY_TITLE)
    return str(RULE_TITLES[Rule(reminder.rule)])


@dataclass(frozen=True)
class TextKey:
    """Everything the clinical text of a reminder depends on. Most reminders of one batch share
    a few keys, so the worker renders each key once."""

    rule: str
    language: str
    for_patient: bool
    days_since: int
    visit_today: bool
    dressing_days: int
    # The clinic's numbers (the same for all its patients).
    phone_daytime: str = ""
    phone_after_hours: str = ""
    emergency_number: str = ""
    # Only the texts that name them depend on these; the others leave them empty so they share.
    patient_name: str = ""
    visit_date: date | None = None
    visit_time: Any = None


def text_key(reminder: Reminder, dressing_days: int, language: str) -> TextKey:
    patient: Patient = reminder.patient
    rule = reminder.rule
    clinic = patient.clinic
    day0 = day_zero(reminder)
    # An unsaved reminder without a day (a preview) reads as the regular one.
    day = reminder.day
    return TextKey(
        rule=rule,
        language=language,
        for_patient=reminder.audience == Audience.PATIENT,
        days_since=(day - day0).days if rule == Rule.DRESSING_REVIEW and day is not None else 0,
        visit_today=rule == Rule.VISIT_REMINDER and day is not None and day >= day0,
        dressing_days=dressing_days,
        patient_name=patient.name if rule == Rule.DRESSING_SAFETY else "",
        visit_date=reminder.visit.local_date if rule == Rule.VISIT_REMINDER else None,
        visit_time=reminder.visit.local_time if rule == Rule.VISIT_REMINDER else None,
        phone_daytime=clinic.phone_daytime,
        phone_after_hours=clinic.phone_after_hours,
        emergency_number=clinic.emergency_number,
    )


def render_text(key: TextKey) -> str:
    """The clinical text for ``key`` in its language."""
    context = {
        "rule": key.rule,
        "for_patient": key.for_patient,
        "patient_name": key.patient_name,
        "visit_date": key.visit_date,
        "visit_time": key.visit_time,
        "visit_today": key.visit_today,
        # The numbers are put into every reminder text here, and only here.
        "clinic": {
            "phone_daytime": ltr_isolate(key.phone_daytime),
            "phone_after_hours": ltr_isolate(key.phone_after_hours),
            "emergency_number": ltr_isolate(key.emergency_number),
        },
        "dressing_days": key.dressing_days,
        "days_since": key.days_since or key.dressing_days,
        "follow_up": key.days_since > key.dressing_days,
        "last_follow_up": key.days_since >= key.dressing_days + FOLLOW_UP_DAYS,
    }
    with translation.override(key.language):
        return render_to_string(f"reminders/{key.rule}.txt", context).strip()


def render_guidance(reminder: Reminder, dressing_days: int) -> str:
    """The clinical text of one reminder, in the active language (for the reminder's page)."""
    return render_text(
        text_key(reminder, dressing_days, translation.get_language() or settings.LANGUAGE_CODE)
    )


@dataclass(frozen=True)
class Rendered:
    title: str
    preview: str
    body: str
    url: str


# Reversed once with this code, then copied with each reminder's: a morning rush needs a link
# per reminder, and reverse() cost more than the rest of a push's preparation.
URL_MARK = uuid.UUID(int=0)
_url_templates: dict[tuple[str | None, str, str | None], str] = {}


def reminder_url(reminder: Reminder) -> str:
    key = (translation.get_language(), settings.SITE_URL + get_script_prefix(), get_urlconf())
    template = _url_templates.get(key)
    if template is None:
        template = _url_templates[key] = settings.SITE_URL + reverse("reminder-detail", args=[URL_MARK])
    return template.replace(str(URL_MARK), str(reminder.code))


def rendered(reminder: Reminder, body: str, language: str) -> Rendered:
    """Title, preview and body in ``language``. Previews are discreet unless the patient turned
    discreet mode off."""
    if reminder.patient.discreet:
        title, preview = discreet_words(language)
    else:
        title, preview = (
            title_words(language, reminder.rule, visit_is_today(reminder)),
            body.split("\n", 1)[0],
        )
    return Rendered(title=title, preview=preview, body=body, url=reminder_url(reminder))


# Titles and previews are the same for many reminders, so a morning rush translates each once:
# switching languages per reminder cost more than the rest of its push's preparation.
@cache
def discreet_words(language: str) -> tuple[str, str]:
    with translation.override(language):
        return str(DISCREET_TITLE), str(DISCREET_BODY)


@cache
def title_words(language: str, rule: str, visit_today: bool) -> str:
    with translation.override(language):
        return str(VISIT_TODAY_TITLE) if visit_today else str(RULE_TITLES[Rule(rule)])


def render_reminder(reminder: Reminder, dressing_days: int = planning.MIN_DRESSING_DAYS) -> Rendered:
    """One reminder as its recipient will get it (the worker renders whole batches instead)."""
    language = reminder.recipient.language
    return rendered(reminder, render_text(text_key(reminder, dressing_days, language)), language)


# --- The clinic's view of a reminder ----------------------------------------------------


def delivery_words(delivery: Delivery) -> str:
    """One channel's outcome in plain words: "Sent", "Failed after 5 attempts: …"."""
    status = delivery.get_status_display()
    if delivery.status == Delivery.Status.SENT:
        return str(status)
    detail = outcome_words(delivery.error)
    if delivery.status == Delivery.Status.PENDING and delivery.attempts:
        return str(_("Trying again: %(detail)s") % {"detail": detail})
    if delivery.status == Delivery.Status.FAILED and delivery.attempts > 1:
        return ngettext(
            "Failed after %(count)d attempt: %(detail)s",
            "Failed after %(count)d attempts: %(detail)s",
            delivery.attempts,
        ) % {"count": delivery.attempts, "detail": detail}
    return f"{status}: {detail}" if detail else str(status)


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    words: str
    status: str
    sent_at: datetime | None


@dataclass(frozen=True)
class LogRow:
    """One reminder as the clinic reads it; ``status`` agrees with the channels."""

    reminder: Reminder
    rule: str
    to: str
    for_patient: bool
    status: str
    status_words: str
    channels: list[ChannelRow]


def log_status(reminder: Reminder, deliveries: list[Delivery], now: datetime) -> tuple[str, str]:
    """(css class, words): read, sent, missed, failed, trying again, due or planned."""
    sent = any(d.status == Delivery.Status.SENT for d in deliveries)
    if reminder.read_at is not None:
        return "read", str(_("Read"))
    if reminder.status == Reminder.Status.PENDING:
        if sent:
            # The person has it; another channel is still being tried.
            return "sent", str(_("Sent"))
        if any(d.attempts for d in deliveries):
            return "retrying", str(_("Trying again"))
        if reminder.due_at > now:
            return "planned", str(_("Planned"))
        return "due", str(_("Due, not sent yet"))
    return reminder.status, str(reminder.get_status_display())


def log_row(reminder: Reminder, names: dict[int, str], now: datetime) -> LogRow:
    deliveries = sorted(
        reminder.deliveries.all(), key=lambda d: (d.channel != Delivery.Channel.INBOX, d.channel)
    )
    status, words = log_status(reminder, deliveries, now)
    for_patient = reminder.audience == Audience.PATIENT
    return LogRow(
        reminder=reminder,
        rule=str(reminder.get_rule_display()),
        to=names.get(reminder.recipient_id) or str(_("Caregiver")),
        for_patient=for_patient,
        status=status,
        status_words=words,
        channels=[
            ChannelRow(str(d.get_channel_display()), delivery_words(d), d.status, d.sent_at)
            for d in deliveries
        ],
    )
