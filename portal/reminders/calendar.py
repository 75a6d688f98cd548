"""The per-user calendar feed (iCalendar, RFC 5545) at /calendar/<token>.ics.

Visits and dressing periods of every patient the user follows, with alarms. UIDs are stable
(built from the visit's public code), so calendar apps update events instead of duplicating
them. The secret address is the only credential: rotating it revokes the old one. Titles name
no treatment unless the patient turned discreet mode off, and never name a drug or condition.
"""

from datetime import UTC, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from portal.models import CalendarFeed, CaregiverLink, InjectionVisit, Patient, User
from portal.reminders import planning
from portal.reminders.rows import clinic_rule_settings


def feed_url(feed: CalendarFeed) -> str:
    return settings.SITE_URL + reverse("calendar-feed", args=[feed.token])


def followed_patients(user: User) -> list[Patient]:
    """The user's own patient record and the patients they care for (active links)."""
    cared_for = CaregiverLink.objects.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE)
    return list(
        Patient.objects.filter(user=user).select_related("clinic")
        | Patient.objects.filter(pk__in=cared_for.values("patient")).select_related("clinic")
    )


def visit_events(patient: Patient, user: User, domain: str) -> list[icalendar.Event]:
    rules = clinic_rule_settings(patient)
    visits = [v for v in InjectionVisit.objects.filter(course__patient=patient) if v.is_active]
    visits.sort(key=lambda v: (v.local_date, v.local_time))
    is_patient = patient.user_id == user.pk
    events = []
    for i, visit in enumerate(visits):
        starts = planning.to_utc(visit.local_date, visit.local_time, patient.clinic.time_zone)
        if patient.discreet:
            title = _("Appointment")
            period_title = _("Home care")
        else:
            title = (
                _("Treatment visit")
                if is_patient
                else _("Treatment visit: %(name)s") % {"name": patient.name}
            )
            period_title = (
                _("Keep the dressings on")
                if is_patient
                else _("Dressings: %(name)s") % {"name": patient.name}
            )
        stamp = visit.updated_at.astimezone(UTC)

        event = icalendar.Event()
        event.add("uid", f"visit-{visit.code}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        event.add("dtend", starts + timedelta(hours=1))
        event.add("summary", title)
        event.add("url", settings.SITE_URL + reverse("reminder-list"))
        event.add("status", "CONFIRMED")
        event.add_component(alarm(title, timedelta(days=-1)))
        events.append(event)

        # The dressing period: from the injection day for dressing_days days, cut short by
        # the next visit, which starts its own period (as the planner does).
        ends = visit.local_date + timedelta(days=rules.dressing_days)
        if i + 1 < len(visits):
            ends = min(ends, visits[i + 1].local_date)
        period = icalendar.Event()
        period.add("uid", f"dressing-{visit.code}@{domain}")
        period.add("dtstamp", stamp)
        period.add("dtstart", visit.local_date)
        period.add("dtend", ends)
        period.add("summary", period_title)
        period.add("transp", "TRANSPARENT")
        # All-day events start at local midnight; remind at the person's reminder time.
        reminder_time = patient.reminder_time if is_patient else user.reminder_time
        period.add_component(
            alarm(period_title, timedelta(hours=reminder_time.hour, minutes=reminder_time.minute))
        )
        events.append(period)
    return events


def alarm(description: str, trigger: timedelta) -> icalendar.Alarm:
    item = icalendar.Alarm()
    item.add("action", "DISPLAY")
    item.add("description", description)
    item.add("trigger", trigger)
    return item


def build_calendar(user: User) -> bytes:
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Home Care Companion//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    with translation.override(user.language):
        calendar.add("x-wr-calname", _("Home Care Companion"))
        for patient in followed_patients(user):
            for event in visit_events(patient, user, domain):
                calendar.add_component(event)
    return bytes(calendar.to_ical())


@never_cache
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if feed is None:
        raise Http404
    response = HttpResponse(build_calendar(feed.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="home-care.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
