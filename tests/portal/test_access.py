"""The access matrix: every persona against every patient-scoped page.

A record outside what the user may see is a 404, never a 403."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import CaregiverLink, Patient
from portal.queries import list_managed_patients_for, list_patients_for
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


@pytest.fixture
def world(
    request,
    patient,
    other_patient,
    caregiver,
    revoked_caregiver,
    clinician,
    other_clinician,
    clinic_admin,
    make_visit,
):
    visit = make_visit(patient, date(2026, 11, 20))
    return {
        "patient": patient,
        "visit": visit,
        "link": CaregiverLink.objects.get(caregiver=caregiver, patient=patient),
        "revoked_link": CaregiverLink.objects.get(caregiver=revoked_caregiver, patient=patient),
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


# (method, url name, object, personas who get through); everyone else gets a 404
# (or the sign-in redirect when anonymous).
MATRIX = [
    ("get", "patient-detail", "patient", {"patient", "caregiver", "clinician", "clinic_admin"}),
    ("get", "caregiver-invite", "patient", {"patient", "clinician", "clinic_admin"}),
    ("post", "caregiver-revoke", "link", {"patient", "caregiver", "clinician", "clinic_admin"}),
    ("get", "caregiver-edit", "link", {"patient", "caregiver", "clinician", "clinic_admin"}),
    # A revoked link is gone for its caregiver (the patient and the clinic keep its history).
    ("get", "caregiver-edit", "revoked_link", {"patient", "clinician", "clinic_admin"}),
    ("post", "caregiver-edit", "revoked_link", {"patient", "clinician", "clinic_admin"}),
    ("post", "caregiver-revoke", "revoked_link", {"patient", "clinician", "clinic_admin"}),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "name", "target", "allowed"), MATRIX, ids=[f"{row[0]}-{row[1]}-{row[2]}" for row in MATRIX]
)
def test_access_matrix(world, persona, method, name, target, allowed):
    client = client_for(world, persona)
    url = reverse(name, args=[world[target].code])
    response = getattr(client, method)(url)
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    elif persona in allowed:
        assert response.status_code in (200, 302), response.content[:300]
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == 404


def test_a_revoked_caregiver_cannot_change_their_old_link(world):
    link = world["revoked_link"]
    response = client_for(world, "revoked_caregiver").post(
        reverse("caregiver-edit", args=[link.code]), {"gets_reminders": "on", "handles_dressings": "on"}
    )
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED


CLINIC_PAGES = [
    ("patient-list", None),
    ("patient-enrol", None),
    ("translation-list", None),
    ("clinic-audit", "clinic"),
    ("clinic-reminder-settings", "clinic"),
]


@pytest.mark.parametrize("persona", ["patient", "other_patient", "caregiver", "revoked_caregiver"])
def test_clinic_pages_do_not_exist_for_patients_and_caregivers(world, clinic, persona):
    client = client_for(world, persona)
    for name, target in CLINIC_PAGES:
        url = reverse(name, args=[clinic.code] if target else [])
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"clinic": str(clinic.code)}).status_code == 404, url


def test_revoked_link_changes_nothing_for_outsiders(world):
    link = world["link"]
    client_for(world, "other_clinician").post(
        reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"}
    )
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("patient", {"patient"}),
        ("other_patient", {"other"}),
        ("caregiver", {"patient"}),
        ("revoked_caregiver", set()),
        ("clinician", {"patient", "other"}),
        ("other_clinician", set()),
        ("clinic_admin", {"patient", "other"}),
        ("anonymous", set()),
    ],
)
def test_list_patients_for(world, other_patient, persona, expected):
    from django.contrib.auth.models import AnonymousUser

    user = world["users"][persona] or AnonymousUser()
    names = {"patient": world["patient"], "other": other_patient}
    assert set(list_patients_for(user)) == {names[key] for key in expected}


def test_caregivers_read_but_do_not_manage(world):
    assert list(list_managed_patients_for(world["users"]["caregiver"])) == []
    assert list(list_managed_patients_for(world["users"]["patient"])) == [world["patient"]]


def test_unknown_code_is_404_even_for_staff(world):
    import uuid

    response = client_for(world, "clinician").get(reverse("patient-detail", args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_patient_pages_use_uuids_not_integer_keys(world):
    response = client_for(world, "clinician").get(reverse("patient-list"))
    patient: Patient = world["patient"]
    assert str(patient.code) in response.content.decode()
    assert f"/patients/{patient.pk}/" not in response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_clinic_admins_read_the_audit_log(world, clinic, persona):
    response = client_for(world, persona).get(reverse("clinic-audit", args=[clinic.code]))
    if persona == "clinic_admin":
        assert response.status_code == 200
    elif persona == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == 404


def test_audit_log_names_the_patient_and_actor(world, clinic):
    client_for(world, "clinician").get(reverse("patient-detail", args=[world["patient"].code]))
    html = client_for(world, "clinic_admin").get(reverse("clinic-audit", args=[clinic.code])).content.decode()
    assert "patient.viewed" in html
    assert world["users"]["clinician"].email in html
    assert world["patient"].name in html


def test_patient_page_links_to_the_guides_for_each_reader(world):
    patient = world["patient"]
    url = reverse("patient-detail", args=[patient.code])
    staff_page = client_for(world, "clinician").get(url).content.decode()
    assert f"/en/guide/for-caregivers/?for={patient.code}" in staff_page
    own_page = client_for(world, "patient").get(url).content.decode()
    assert "/en/guide/dressing-care/" in own_page
    assert "/en/guide/for-caregivers/" not in own_page
    caregiver_page = client_for(world, "caregiver").get(url).content.decode()
    assert "/en/guide/for-caregivers/" in caregiver_page
    assert "/en/guide/side-effects/" not in caregiver_page


def test_patient_page_says_where_today_is_in_the_dressing_period(client, patient, make_visit):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    make_visit(patient, today - timedelta(days=2), status="done")
    make_visit(patient, today + timedelta(days=12))
    log_in(client, patient.user)
    html = client.get(reverse("patient-detail", args=[patient.code])).content.decode()
    assert "2 days since the treatment on" in html
    assert "Keep the dressings on for at least 7 days after each treatment" in html
    assert "Next treatment visit:" in html
    assert "1 earlier visit" in html


def test_a_role_change_goes_back_where_each_person_came_from(world):
    """A walk found the caregiver's role page going "Back" to the start page and, once saved,
    landing on Today: staff come from the patient's page, the others from their caregivers."""
    link = world["link"]
    url = reverse("caregiver-edit", args=[link.code])
    form = {"gets_reminders": "on", "handles_dressings": "on"}
    caregivers_page = reverse("caregivers")
    for persona, back in [
        ("patient", caregivers_page),
        ("caregiver", caregivers_page),
        ("clinician", reverse("patient-detail", args=[link.patient.code])),
    ]:
        client = client_for(world, persona)
        assert f'<a href="{back}">Back</a>' in client.get(url).text, persona
        assert client.post(url, form)["Location"] == back, persona


def test_the_invite_form_goes_back_where_each_person_came_from(world):
    """A walk found a patient's "Back" on the invite form leading to the clinic-style patient
    page, while sending the invitation lands on their caregivers: the patient comes from
    their caregivers, staff from the patient's page."""
    patient = world["patient"]
    url = reverse("caregiver-invite", args=[patient.code])
    for persona, back in [
        ("patient", reverse("caregivers")),
        ("clinician", reverse("patient-detail", args=[patient.code])),
    ]:
        assert f'<a href="{back}">Back</a>' in client_for(world, persona).get(url).text, persona
