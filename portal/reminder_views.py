"""HTML pages for reminders: the in-app inbox, one reminder, the clinic's reminder log and
its reminder settings. A person's own settings are their account's (account_views)."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from education.views import _phones_context
from portal import caregivers, services
from portal.forms import ClinicReminderSettingsForm, DressingReportForm
from portal.http import AuthenticatedHttpRequest
from portal.keep import kept
from portal.models import ClinicReminderSettings, DressingLogEntry
from portal.queries import (
    INBOX_ROW_FIELDS,
    access_clinic,
    access_clinic_patient,
    access_reminder,
    count_inbox_for,
    list_inbox_for,
    reminder_log_for,
)
from portal.reminders import clinic_rule_settings, reminder_title, render_guidance
from portal.reminders.clinics import replanning_under_way
from portal.reminders.planning import Rule
from portal.sqlonce import Counted

# The reminders whose page asks whether every site is dry (the dressing log's two answers).
DRESSING_QUESTION_RULES = (Rule.DRESSING_CHECK, Rule.DRESSING_REVIEW)


@kept
@login_required
def reminder_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = list_inbox_for(request.user).only(*INBOX_ROW_FIELDS)
    page = Paginator(Counted(rows, count_inbox_for(request.user)), 30).get_page(request.GET.get("page"))
    # The link and the time are made here, as {% url %} and |date wrote them, once per row
    # without the template engine's cost per tag (tests/portal/test_inbox_rows.py).
    head, tail = reverse("reminder-detail", args=[_ZERO]).split(str(_ZERO))
    handles: dict[int, bool] = {}
    for reminder in page:
        reminder.recipient = request.user  # the inbox's rows are the reader's own (its WHERE)
        reminder.title = reminder_title(caregivers.as_seen_by(request.user, reminder, handles=handles))
        reminder.url = f"{head}{reminder.code}{tail}"
        reminder.when = date_format(timezone.localtime(reminder.due_at), "DATETIME_FORMAT")
    return render(request, "portal/reminder_list.html", {"page": page})


_ZERO = UUID(int=0)


@login_required
def reminder_detail(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    reminder = access_reminder(request.user, code)
    services.mark_reminder_read(reminder=reminder)
    # A caregiver who must not handle dressings reads old dressing checks as the safety text.
    seen = caregivers.as_seen_by(request.user, reminder)
    return render(
        request,
        "portal/reminder_detail.html",
        {
            "reminder": reminder,
            "title": reminder_title(seen),
            "guidance": render_guidance(seen, clinic_rule_settings(reminder.patient).dressing_days),
            "for_patient": reminder.patient.user_id == request.user.pk,
            "asks_dressing": seen.rule in DRESSING_QUESTION_RULES,
            "answers": [DressingLogEntry.Kind.DRY, DressingLogEntry.Kind.WEEPING],
            "phones": _phones_context(reminder.patient.clinic)["phones"],
        },
    )


@login_required
@require_POST
def reminder_dressing_report(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """ "All sites are dry" or "Still weeping or oozing" from a dressing reminder's page."""
    reminder = access_reminder(request.user, code, rules=DRESSING_QUESTION_RULES)
    if caregivers.as_seen_by(request.user, reminder) is not reminder:
        raise Http404  # no dressing task for someone who must not touch the dressings
    form = DressingReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the two answers."))
        return redirect("reminder-detail", reminder.code)
    entry = services.record_dressing_report(
        patient=reminder.patient, by=request.user, kind=form.cleaned_data["kind"], visit=reminder.visit
    )
    messages.success(request, _("Saved: %(answer)s.") % {"answer": entry.get_kind_display()})
    return redirect("reminder-detail", reminder.code)


@login_required
def patient_reminder_log(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """What the patient and their caregivers were sent, read, missed or not sent: clinic staff
    of the patient's clinic only, and audited (it shows health data)."""
    patient = access_clinic_patient(request.user, code)
    log = reminder_log_for(request.user, patient, now=timezone.now())
    services.record_audit(
        actor=request.user, action="patient.reminders_viewed", patient=patient, request=request
    )
    return render(request, "portal/patient_reminders.html", {"patient": patient, "log": log})


@login_required
def clinic_reminder_settings(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Clinic admins switch rules off and change times; the wording stays the clinical wording."""
    clinic = access_clinic(request.user, code, admin=True)
    current = ClinicReminderSettings.objects.filter(clinic=clinic).first() or ClinicReminderSettings(
        clinic=clinic
    )
    form = ClinicReminderSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.Meta.fields}
        try:
            services.update_clinic_reminder_settings(clinic=clinic, by=request.user, **changes)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Reminder settings saved. Every patient's reminders are being planned again.")
            )
            return redirect("clinic-reminder-settings", clinic.code)
    context = {"form": form, "clinic": clinic, "replanning": replanning_under_way(clinic)}
    return render(request, "portal/clinic_reminder_settings.html", context)
