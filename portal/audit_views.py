"""The clinic's audit log for clinic admins: filter by person, patient, action and date;
actions in words; times in the clinic's zone; export as CSV."""

import csv
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.http import AuthenticatedHttpRequest
from portal.models import AuditEvent, Clinic
from portal.queries import access_clinic
from portal.search import fold
from portal.services import record_audit

ACTIONS = {
    "patients.listed": gettext_lazy("Looked at the patient list"),
    "clinic.home_viewed": gettext_lazy("Looked at the clinic home"),
    "patient.viewed": gettext_lazy("Opened a patient's page"),
    "patient.reminders_viewed": gettext_lazy("Looked at a patient's reminders"),
    "patient.enrolled": gettext_lazy("Enrolled a patient"),
    "patient.changed": gettext_lazy("Changed a patient's details"),
    "patient.settings_changed": gettext_lazy("Changed a patient's reminder settings"),
    "patient.discharged": gettext_lazy("Discharged a patient"),
    "patient.reopened": gettext_lazy("Reopened a patient's record"),
    "patient.erased": gettext_lazy("Erased a patient's data"),
    "patient.pack_printed": gettext_lazy("Printed a handout pack"),
    "patient.handout_printed": gettext_lazy("Printed a handout"),
    "patient.reinvited": gettext_lazy("Sent a new invitation"),
    "invitation.withdrawn": gettext_lazy("Withdrew an invitation"),
    "course.viewed": gettext_lazy("Looked at a treatment course"),
    "course.planned": gettext_lazy("Planned treatment visits"),
    "course.paused": gettext_lazy("Paused a treatment course"),
    "course.restarted": gettext_lazy("Restarted a treatment course"),
    "visit.viewed": gettext_lazy("Opened a visit"),
    "visit.added": gettext_lazy("Added a visit"),
    "visit.changed": gettext_lazy("Changed a visit"),
    "visit.completed": gettext_lazy("Marked a visit as done"),
    "visit.moved": gettext_lazy("Moved a visit"),
    "visits.shifted": gettext_lazy("Shifted visits"),
    "visit.cancelled": gettext_lazy("Cancelled a visit"),
    "assignments.viewed": gettext_lazy("Looked at a patient's reading"),
    "assignments.created": gettext_lazy("Assigned modules"),
    "assignment.withdrawn": gettext_lazy("Withdrew a module"),
    "progress.recorded": gettext_lazy("Recorded reading progress"),
    "caregiver.invited": gettext_lazy("Invited a caregiver"),
    "caregiver.changed": gettext_lazy("Changed a caregiver's role"),
    "caregiver.revoked": gettext_lazy("Ended a caregiver link"),
    "care_plan.created": gettext_lazy("Made a care plan"),
    "care_plan.changed": gettext_lazy("Changed a care plan"),
    "care_plan.deleted": gettext_lazy("Deleted a care plan"),
    "clinic.settings_changed": gettext_lazy("Changed the clinic settings"),
    "clinic.reminder_settings_changed": gettext_lazy("Changed the clinic's reminder settings"),
    "staff.invited": gettext_lazy("Invited a staff member"),
    "staff.invitation_withdrawn": gettext_lazy("Withdrew a staff invitation"),
    "staff.joined": gettext_lazy("Joined the staff"),
    "staff.role_changed": gettext_lazy("Changed a staff member's role"),
    "staff.removed": gettext_lazy("Removed a staff member"),
    "api_key.created": gettext_lazy("Made an API key"),
    "api_key.revoked": gettext_lazy("Revoked an API key"),
    "audit.exported": gettext_lazy("Exported the audit log"),
    "dressing.recorded": gettext_lazy("Recorded a dressing check for a patient"),
}
# Codes no longer recorded, which older rows keep: read and filtered as the code that took their
# place (resending an invitation was "invitation.sent" until it was audited once).
FORMER_CODES = {"invitation.sent": "patient.reinvited"}
PAGE_SIZE = 100
CSV_LIMIT = 50_000


def action_words(code: str) -> str:
    if code.startswith("admin."):
        # The operators' admin site audits itself as admin.<model>.<verb>.
        return _("In the operators' admin site: %(what)s") % {"what": code.removeprefix("admin.")}
    return str(ACTIONS.get(FORMER_CODES.get(code, code), code))


class AuditFilterForm(forms.Form):
    person = forms.ChoiceField(label=gettext_lazy("Person"), required=False)
    patient = forms.CharField(
        label=gettext_lazy("Patient"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Name, email or code."),
    )
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, people: list[str], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if self.is_bound and (current := FORMER_CODES.get(self.data.get("action", ""))):
            # A link bookmarked before a code was renamed is read as the current choice, which
            # finds the former code's rows too (filtered); it is no choice, so it was an error.
            self.data = self.data.copy()
            self.data["action"] = current
        self.fields["person"].choices = [("", _("Everyone")), *[(p, p) for p in people]]
        self.fields["action"].choices = [
            ("", _("Every action")),
            *[(code, words) for code, words in ACTIONS.items()],
        ]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("The end date must be on or after the start date."))
        return data


def midnight(day: date, zone: ZoneInfo, *, days_later: int = 0) -> datetime | None:
    """The start of ``day`` (plus ``days_later``) in the clinic's zone, in UTC. None past
    either end of the calendar (the day after 9999-12-31, or 0001-01-01 east of UTC), which
    the form accepts: every event is inside such a bound, so there is none to apply."""
    try:
        return datetime.combine(day + timedelta(days=days_later), time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def filtered(clinic: Clinic, data: dict[str, object]) -> QuerySet[AuditEvent]:
    events = clinic.audit_events.select_related("actor")
    zone = ZoneInfo(clinic.time_zone)
    if data.get("person"):
        events = events.filter(actor_email=data["person"])
    if data.get("action"):
        action = data["action"]
        events = events.filter(
            action__in=[action, *(old for old, new in FORMER_CODES.items() if new == action)]
        )
    if data.get("since") and (start := midnight(data["since"], zone)):  # type: ignore[arg-type]
        events = events.filter(at__gte=start)
    if data.get("until") and (end := midnight(data["until"], zone, days_later=1)):  # type: ignore[arg-type]
        events = events.filter(at__lt=end)
    if text := str(data.get("patient") or "").replace("\x00", "").strip():
        try:
            codes = Q(patient_code=UUID(text))
        except ValueError:
            matches = clinic.patients.all()
            for word in fold(text).split():
                matches = matches.filter(search_text__contains=word)
            codes = Q(patient_code__in=matches.values("code"))
        events = events.filter(codes)
    return events


@login_required
def audit_log(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    people = list(
        clinic.audit_events.order_by("actor_email").values_list("actor_email", flat=True).distinct()
    )
    form = AuditFilterForm(request.GET or None, people=[p for p in people if p])
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = filtered(clinic, data) if not form.is_bound or form.is_valid() else clinic.audit_events.none()
    if request.GET.get("format") == "csv" and (not form.is_bound or form.is_valid()):
        record_audit(actor=request.user, action="audit.exported", clinic=clinic, request=request)
        return audit_csv(clinic, events)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = describe_events(clinic, list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "portal/clinic_audit.html",
        {"clinic": clinic, "page": page, "rows": rows, "form": form, "query": query.urlencode()},
    )


def describe_events(clinic: Clinic, events: list[AuditEvent]) -> list[dict[str, object]]:
    codes = {event.patient_code for event in events if event.patient_code}
    names = dict(clinic.patients.filter(code__in=codes).values_list("code", "name"))
    return [
        {
            "event": event,
            "who": event.actor.display_name if event.actor and event.actor.name else event.actor_email,
            "action": action_words(event.action),
            "patient": names.get(event.patient_code, _("Erased patient") if event.patient_code else ""),
        }
        for event in events
    ]


def audit_csv(clinic: Clinic, events: QuerySet[AuditEvent]) -> HttpResponse:
    """Every matching event (up to CSV_LIMIT), times in the clinic's zone with their offset."""
    zone = ZoneInfo(clinic.time_zone)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    writer.writerow(
        [
            _("When"),
            _("Time zone"),
            _("Person"),
            _("Action"),
            _("Action code"),
            _("Patient"),
            _("Patient code"),
            _("Address"),
        ]
    )
    batch = list(events[:CSV_LIMIT])
    for row in describe_events(clinic, batch):
        event: AuditEvent = row["event"]  # type: ignore[assignment]
        writer.writerow(
            [
                event.at.astimezone(zone).isoformat(timespec="seconds"),
                clinic.time_zone,
                safe_cell(str(row["who"])),
                row["action"],
                event.action,
                safe_cell(str(row["patient"])),
                event.patient_code or "",
                event.ip or "",
            ]
        )
    return response


def safe_cell(text: str) -> str:
    """A spreadsheet must not run a name that starts like a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
