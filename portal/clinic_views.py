"""Clinic pages: the home page, the patient list, the handout pack."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from education.catalog import PHONES_PLACEHOLDER, load_catalog
from education.views import _reader_body as reader_body
from education.views import document_shown
from portal.http import AuthenticatedHttpRequest
from portal.keep import kept
from portal.models import (
    Assignment,
    AssignmentProgress,
    CaregiverLink,
    Clinic,
    Delivery,
    InjectionVisit,
    Patient,
    Reminder,
)
from portal.queries import access_clinic_patient, list_clinic_patients_for, list_clinics_for
from portal.search import fold
from portal.services import record_audit
from portal.sqlonce import Counted

SECTION_ID = re.compile(r"""(<section\b[^>]*\bid=["'])""")
PAGE_SIZE = 50
HOME_ROWS = 20
FAILING_DAYS = 14


def week_of(clinic: Clinic) -> tuple:  # type: ignore[type-arg]
    """Monday to Sunday of the current week, in the clinic's own calendar."""
    today = timezone.localdate(timezone=ZoneInfo(clinic.time_zone))
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


@login_required
def clinic_home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What needs the care team's attention: a fixed number of queries, whatever the size."""
    clinics = list(list_clinics_for(request.user))
    if not clinics:
        raise Http404
    now = timezone.now()
    weeks = {clinic.pk: week_of(clinic) for clinic in clinics}
    this_week = Q(pk__in=[])
    overdue = Q(pk__in=[])
    for clinic in clinics:
        monday, sunday = weeks[clinic.pk]
        this_week |= Q(course__patient__clinic=clinic, local_date__range=(monday, sunday))
        overdue |= Q(
            patient__clinic=clinic, assigned_at__lte=now - timedelta(days=clinic.acknowledge_within_days)
        )
    visits = (
        InjectionVisit.objects.filter(
            this_week, status=InjectionVisit.Status.SCHEDULED, course__patient__discharged_at__isnull=True
        )
        .select_related("course__patient")
        .order_by("local_date", "local_time")
    )
    since = now - timedelta(days=FAILING_DAYS)
    failing_delivery = Delivery.objects.filter(
        reminder__patient=OuterRef("pk"), status=Delivery.Status.FAILED, reminder__due_at__gte=since
    )
    failing_reminder = Reminder.objects.filter(
        patient=OuterRef("pk"), status=Reminder.Status.FAILED, due_at__gte=since
    )
    patients = Patient.objects.filter(clinic__in=clinics, discharged_at__isnull=True)
    failing = patients.filter(Exists(failing_delivery) | Exists(failing_reminder)).order_by("name")
    not_accepted = patients.filter(user__isnull=True).order_by("created_at")
    caregivers_invited = (
        CaregiverLink.objects.filter(
            patient__clinic__in=clinics,
            patient__discharged_at__isnull=True,
            status=CaregiverLink.Status.INVITED,
        )
        .select_related("patient")
        .order_by("created_at")
    )
    acknowledged = AssignmentProgress.objects.filter(
        assignment=OuterRef("pk"), state=AssignmentProgress.State.ACKNOWLEDGED
    )
    unacknowledged = (
        Assignment.objects.filter(overdue, withdrawn_at__isnull=True, patient__discharged_at__isnull=True)
        .filter(~Exists(acknowledged))
        .select_related("patient")
        .order_by("assigned_at")
    )
    questions = (
        AssignmentProgress.objects.filter(
            assignment__patient__clinic__in=clinics,
            assignment__patient__discharged_at__isnull=True,
            assignment__withdrawn_at__isnull=True,
            questions_at__isnull=False,
        )
        .exclude(state=AssignmentProgress.State.ACKNOWLEDGED)
        .select_related("assignment__patient")
        .order_by("questions_at")
    )
    titles = {m.slug: m.document(translation.get_language())[0].title for m in load_catalog().modules}
    sections = {
        "visits": (visits.count(), list(visits[:HOME_ROWS])),
        "failing": (failing.count(), list(failing[:HOME_ROWS])),
        "not_accepted": (not_accepted.count(), list(not_accepted[:HOME_ROWS])),
        "caregivers_invited": (caregivers_invited.count(), list(caregivers_invited[:HOME_ROWS])),
        "unacknowledged": (unacknowledged.count(), list(unacknowledged[:HOME_ROWS])),
        "questions": (questions.count(), list(questions[:HOME_ROWS])),
    }
    for assignment in sections["unacknowledged"][1]:
        assignment.title = titles.get(assignment.module_slug, assignment.module_slug)
    for progress in sections["questions"][1]:
        progress.title = titles.get(progress.assignment.module_slug, progress.assignment.module_slug)
    for clinic in clinics:
        record_audit(actor=request.user, action="clinic.home_viewed", clinic=clinic, request=request)
    return render(
        request,
        "portal/clinic_home.html",
        {
            "clinics": clinics,
            "admin_clinics": [c for c in list_clinics_for(request.user, admin=True)],
            "week": weeks[clinics[0].pk],
            "sections": sections,
            "days": {c.acknowledge_within_days for c in clinics},
            "failing_days": FAILING_DAYS,
        },
    )


@dataclass(frozen=True)
class PatientRow:
    """One line of the patient list. Its words and link are made here, once per page: for 50
    lines the template engine's cost per tag and filter was most of the page's time."""

    url: str
    name: str
    account: str
    next_visit: str
    reading: str


def patient_rows(patients: Iterable[Patient]) -> list[PatientRow]:
    """What the list's template wrote with {% url %}, {% translate %}, |date and
    {% blocktranslate %}, the same characters (tests/portal/test_patient_rows.py)."""
    # Translations are the site's own text: safe, as the template's {% translate %} left them.
    discharged = mark_safe(_("Discharged"))  # noqa: S308
    active = mark_safe(_("Active"))  # noqa: S308
    invited = mark_safe(_("Invited"))  # noqa: S308
    acknowledged = _("%(done)s of %(total)s acknowledged")
    head, tail = reverse("patient-detail", args=[_ZERO]).split(str(_ZERO))
    rows = []
    for patient in patients:
        assigned = patient.assigned  # type: ignore[attr-defined]
        reading = "–"
        if assigned:
            numbers = {"done": patient.acknowledged, "total": assigned}  # type: ignore[attr-defined]
            reading = mark_safe(  # noqa: S308 - the translation, with escaped numbers
                acknowledged % {key: conditional_escape(localize(value)) for key, value in numbers.items()}
            )
        next_visit = patient.next_visit  # type: ignore[attr-defined]
        rows.append(
            PatientRow(
                url=f"{head}{patient.code}{tail}",
                name=patient.name,
                account=discharged if patient.discharged_at else active if patient.user_id else invited,
                next_visit=date_format(next_visit, "DATE_FORMAT") if next_visit else "–",
                reading=reading,
            )
        )
    return rows


_ZERO = UUID(int=0)


@kept
@login_required
def patient_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Search ignores case and accents ("nunez" finds "Núñez") on SQLite and PostgreSQL alike."""
    clinics = list(list_clinics_for(request.user))
    if not clinics:
        raise Http404
    # Bounded, and without the NUL character PostgreSQL refuses in text.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    status = request.GET.get("status", "current")
    patients = list_clinic_patients_for(request.user)
    if status == "discharged":
        patients = patients.filter(discharged_at__isnull=False)
    elif status != "all":
        status = "current"
        patients = patients.filter(discharged_at__isnull=True)
    for word in fold(query).split():
        patients = patients.filter(search_text__contains=word)
    today = timezone.localdate()
    next_visit = (
        InjectionVisit.objects.filter(
            course__patient=OuterRef("pk"), status=InjectionVisit.Status.SCHEDULED, local_date__gte=today
        )
        .order_by("local_date", "local_time")
        .values("local_date")[:1]
    )
    # One line per patient with or without the counts below: the page count needs none of them
    # (counting the annotated rows costs a GROUP BY in a subquery).
    count = patients.count()
    live = Q(assignments__withdrawn_at__isnull=True)
    patients = patients.annotate(
        next_visit=Subquery(next_visit),
        assigned=Count("assignments", filter=live, distinct=True),
        acknowledged=Count(
            "assignments",
            filter=live & Q(assignments__progress__state=AssignmentProgress.State.ACKNOWLEDGED),
            distinct=True,
        ),
    ).order_by("name", "pk")
    page = Paginator(Counted(patients, count), PAGE_SIZE).get_page(request.GET.get("page"))
    for clinic in clinics:
        record_audit(actor=request.user, action="patients.listed", clinic=clinic, request=request)
    return render(
        request,
        "portal/patient_list.html",
        {
            "page": page,
            "rows": patient_rows(page.object_list),
            "query": query,
            "status": status,
            "admin_clinics": list_clinics_for(request.user, admin=True),
        },
    )


@login_required
def handout_pack(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Everything to print for the patient, in the patient's language: name, next visits,
    the care team's numbers and every assigned module (the clinic's review rule applies)."""
    patient = access_clinic_patient(request.user, code)
    record_audit(actor=request.user, action="patient.pack_printed", patient=patient, request=request)
    catalog = load_catalog()
    order = {module.slug: index for index, module in enumerate(catalog.modules)}
    slugs = sorted(
        patient.assignments.filter(withdrawn_at__isnull=True).values_list("module_slug", flat=True),
        key=lambda slug: order.get(slug, 999),
    )
    staff_language = translation.get_language()
    with translation.override(patient.language):
        language = translation.get_language()
        phones = render_to_phones(patient.clinic)
        modules = []
        for slug in slugs:
            module = catalog.get(slug)
            if module is None:
                continue
            shown = document_shown(module, language, patient.clinic)
            document, fell_back = shown.document, shown.fell_back
            # The guide page's own rendering (sources per section, the emergency number). Several
            # modules share one page: section ids get the module's slug in front.
            body = reader_body(document, catalog.references, patient.clinic).replace(
                PHONES_PLACEHOLDER, phones
            )
            body = SECTION_ID.sub(rf"\g<1>{slug}-", body)
            modules.append(
                {
                    "module": module,
                    "document": document,
                    "fell_back": fell_back,
                    "body": mark_safe(body),  # noqa: S308 - reviewed repository content
                }
            )
        today = timezone.localdate(timezone=ZoneInfo(patient.clinic.time_zone))
        visits = InjectionVisit.objects.filter(
            course__patient=patient, status=InjectionVisit.Status.SCHEDULED, local_date__gte=today
        ).order_by("local_date", "local_time")[:6]
        return render(
            request,
            "portal/handout_pack.html",
            {
                "patient": patient,
                "call_box": mark_safe(phones),  # noqa: S308 - rendered from our template
                "clinic": patient.clinic,
                "visits": visits,
                "modules": modules,
                "staff_language": staff_language,
                "printed_on": today,
            },
        )


def render_to_phones(clinic: Clinic) -> str:
    from django.template.loader import render_to_string

    from education.views import _phones_context as phones_context

    return render_to_string("education/_clinic_phones.html", phones_context(clinic))
