"""The access matrix for the clinic workspace: every new page and API operation against every
persona. A record of another clinic is a 404, and so is every clinic page for patients and
caregivers; the API answers only to API keys (401 without one) and a key sees only its clinic."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import assignments
from portal.api_keys import create_api_key
from portal.models import CaregiverLink, StaffInvitation
from tests.helpers import log_in

PERSONAS = [
    "patient",
    "other_patient",
    "caregiver",
    "revoked_caregiver",
    "clinician",
    "other_clinician",
    "clinic_admin",
    "anonymous",
]
STAFF = {"clinician", "clinic_admin"}
ADMIN = {"clinic_admin"}


@pytest.fixture
def world(
    patient,
    other_patient,
    caregiver,
    revoked_caregiver,
    clinician,
    other_clinician,
    clinic_admin,
    make_visit,
    clinic,
):
    visit = make_visit(patient, timezone.localdate() + timedelta(days=3))
    (assignment,) = assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    plan = assignments.default_care_plan(clinic)
    invitation = StaffInvitation.objects.create(
        clinic=clinic, email="new@example.test", expires_at=timezone.now() + timedelta(days=1)
    )
    key = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="write")
    return {
        "patient": patient,
        "visit": visit,
        "course": visit.course,
        "assignment": assignment,
        "plan": plan,
        "clinic": clinic,
        "invitation": invitation,
        "key": key,
        "link": CaregiverLink.objects.get(caregiver=caregiver),
        "users": {
            "patient": patient.user,
            "other_patient": other_patient.user,
            "caregiver": caregiver,
            "revoked_caregiver": revoked_caregiver,
            "clinician": clinician,
            "other_clinician": other_clinician,
            "clinic_admin": clinic_admin,
            "anonymous": None,
        },
    }


def client_for(world, persona: str) -> Client:
    client = Client()
    if world["users"][persona] is not None:
        log_in(client, world["users"][persona])
    return client


# (method, url name, url arguments, who gets through); everyone else: 404, or the sign-in page.
PAGES = [
    # Staff of any clinic have a home and a list, each of their own clinic only.
    ("get", "clinic-home", [], STAFF | {"other_clinician"}),
    ("get", "patient-list", [], STAFF | {"other_clinician"}),
    ("get", "course-detail", ["patient"], STAFF),
    ("get", "course-plan", ["patient"], STAFF),
    ("get", "visit-manage", ["visit"], STAFF),
    ("post", "course-pause", ["course"], STAFF),
    ("get", "course-restart", ["course"], STAFF),
    ("get", "patient-assignments", ["patient"], STAFF),
    ("post", "assignment-withdraw", ["assignment"], STAFF),
    ("get", "handout-pack", ["patient"], STAFF),
    ("get", "patient-edit", ["patient"], STAFF),
    ("post", "patient-discharge", ["patient"], STAFF),
    ("post", "patient-reopen", ["patient"], STAFF),
    ("get", "patient-erase", ["patient"], ADMIN),
    ("post", "patient-invitation-resend", ["patient"], STAFF),
    ("post", "patient-invitation-withdraw", ["patient"], STAFF),
    ("get", "care-plan-list", ["clinic"], ADMIN),
    ("get", "care-plan-add", ["clinic"], ADMIN),
    ("get", "care-plan-edit", ["plan"], ADMIN),
    ("post", "care-plan-delete", ["plan"], ADMIN),
    ("get", "clinic-settings", ["clinic"], ADMIN),
    ("get", "clinic-staff", ["clinic"], ADMIN),
    ("get", "clinic-api-keys", ["clinic"], ADMIN),
    ("post", "clinic-api-key-revoke", ["clinic", "key"], ADMIN),
    ("post", "staff-invitation-withdraw", ["clinic", "invitation"], ADMIN),
    ("post", "staff-role", ["clinic", "admin_user"], ADMIN),
    ("get", "clinic-audit", ["clinic"], ADMIN),
]


def url_args(world, names):
    codes = {
        "key": lambda: world["key"].api_key.code,
        "admin_user": lambda: world["users"]["clinic_admin"].code,
    }
    return [codes[name]() if name in codes else world[name].code for name in names]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("method", "name", "args", "allowed"), PAGES, ids=[row[1] for row in PAGES])
def test_clinic_pages(world, persona, method, name, args, allowed):
    response = getattr(client_for(world, persona), method)(reverse(name, args=url_args(world, args)))
    if persona == "anonymous":
        assert response.status_code == 302 and reverse("account_login") in response.url
    elif persona in allowed:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert reverse("account_login") not in response.url
    else:
        assert response.status_code == 404


def test_admin_pages_of_another_clinic_are_404(world, other_clinic, make_staff):
    outsider = make_staff(other_clinic, "admin@south.example.test", role="admin")
    client = Client()
    log_in(client, outsider)
    for method, name, args, _allowed in PAGES:
        if name in ("clinic-home", "patient-list"):
            continue
        response = getattr(client, method)(reverse(name, args=url_args(world, args)))
        assert response.status_code == 404, name


API = [
    ("get", "/api/v1/patients/{patient}/"),
    ("patch", "/api/v1/patients/{patient}/"),
    ("post", "/api/v1/patients/{patient}/discharge/"),
    ("post", "/api/v1/patients/{patient}/reopen/"),
    ("get", "/api/v1/patients/{patient}/course-proposal/?first_date={today}&first_time=10:00&count=3"),
    ("get", "/api/v1/patients/{patient}/courses/"),
    ("post", "/api/v1/patients/{patient}/courses/"),
    ("get", "/api/v1/patients/{patient}/visits/"),
    ("get", "/api/v1/patients/{patient}/assignments/"),
    ("post", "/api/v1/patients/{patient}/assignments/"),
    ("get", "/api/v1/patients/{patient}/reminders/"),
    ("post", "/api/v1/courses/{course}/pause/"),
    ("get", "/api/v1/visits/{visit}/"),
    ("post", "/api/v1/visits/{visit}/complete/"),
    ("post", "/api/v1/visits/{visit}/move/"),
    ("post", "/api/v1/visits/{visit}/shift/"),
    ("post", "/api/v1/visits/{visit}/cancel/"),
    ("delete", "/api/v1/assignments/{assignment}/"),
]
LISTS = ["/api/v1/patients/", "/api/v1/modules/", "/api/v1/care-plans/"]


def api_url(world, template: str) -> str:
    return template.format(
        patient=world["patient"].code,
        course=world["course"].code,
        visit=world["visit"].code,
        assignment=world["assignment"].code,
        today=timezone.localdate().isoformat(),
    )


@pytest.mark.parametrize(("method", "template"), API, ids=[f"{m} {t}" for m, t in API])
def test_api_operations(world, other_clinic, clinic_admin, method, template):
    url = api_url(world, template)
    send = lambda client: getattr(client, method)(url, {}, content_type="application/json")  # noqa: E731
    # Patients, caregivers and clinic staff have no way in with their sessions.
    for persona in ("patient", "caregiver", "clinician", "anonymous"):
        assert send(client_for(world, persona)).status_code == 401
    # Another clinic's key sees nothing of this clinic.
    other_key = create_api_key(clinic=other_clinic, by=clinic_admin, name="Other", scope="write").key
    assert send(Client(headers={"Authorization": f"Bearer {other_key}"})).status_code == 404
    # The clinic's own key gets an answer that is not a 404 or a server error.
    own = send(Client(headers={"Authorization": f"Bearer {world['key'].key}"}))
    assert own.status_code in (200, 201, 204, 400), own.content


@pytest.mark.parametrize("url", LISTS)
def test_api_lists_are_the_keys_clinic_only(world, other_clinic, make_patient, clinic_admin, url):
    make_patient(other_clinic, "elsewhere@example.test")
    assert Client().get(url).status_code == 401
    other_key = create_api_key(clinic=other_clinic, by=clinic_admin, name="Other", scope="read").key
    body = Client(headers={"Authorization": f"Bearer {other_key}"}).get(url).json()
    text = str(body)
    assert str(world["patient"].code) not in text and str(world["plan"].code) not in text


# Every staff read of patient data leaves an audit event naming the action (changes are
# checked in each feature's tests).
READS = [
    ("clinic-home", [], "clinic.home_viewed", False),
    ("patient-list", [], "patients.listed", False),
    ("course-detail", ["patient"], "course.viewed", True),
    ("visit-manage", ["visit"], "visit.viewed", True),
    ("patient-assignments", ["patient"], "assignments.viewed", True),
    ("handout-pack", ["patient"], "patient.pack_printed", True),
]


@pytest.mark.parametrize(("name", "args", "action", "about_patient"), READS, ids=[r[0] for r in READS])
def test_staff_reads_are_audited(world, name, args, action, about_patient):
    from portal.models import AuditEvent

    client = client_for(world, "clinician")
    before = AuditEvent.objects.count()
    assert client.get(reverse(name, args=url_args(world, args))).status_code == 200
    events = AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before]
    match = [e for e in events if e.action == action]
    assert match and match[0].actor == world["users"]["clinician"]
    if about_patient:
        assert match[0].patient_code == world["patient"].code
