"""No input gives a 500: every number and date is bounded and refused in plain words, with
nothing written (issue 8, point 10)."""

from datetime import date, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.api_keys import create_api_key
from portal.models import (
    CaregiverLink,
    CarePlan,
    ClinicReminderSettings,
    InjectionVisit,
    Patient,
    PushSubscription,
    Reminder,
    StaffInvitation,
)
from tests.helpers import clinic_settings_form, log_in

pytestmark = pytest.mark.django_db
FUZZ = hypothesis_settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("0001-01-01", "Enter a date within the last year."),
        ("9999-12-31", "Enter a date within the next two years."),
        (-400, "Enter a date within the last year."),
        (800, "Enter a date within the next two years."),
    ],
)
def test_visit_dates_far_from_today_are_refused_in_words(
    client, clinician, patient, make_visit, when, message
):
    if isinstance(when, int):
        when = (timezone.localdate() + timedelta(days=when)).isoformat()
    visit = make_visit(patient, timezone.localdate() + timedelta(days=5))
    log_in(client, clinician)
    response = client.post(
        reverse("visit-manage", args=[visit.code]),
        {"action": "move", "local_date": when, "local_time": "10:00"},
    )
    assert response.status_code == 200
    assert message in response.text
    visit.refresh_from_db()
    assert visit.local_date == timezone.localdate() + timedelta(days=5)


def test_an_old_visit_may_still_be_marked_done(clinician, patient, make_visit):
    from portal import services

    visit = make_visit(patient, timezone.localdate() - timedelta(days=500))
    services.change_visit(visit=visit, by=clinician, status=InjectionVisit.Status.DONE)
    assert InjectionVisit.objects.get().status == "done"


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("32767", "Choose at most 28 days."),
        ("29", "Choose at most 28 days."),
        ("6", "at least 7 days"),
        ("-1", ""),
    ],
)
def test_dressing_days_are_bounded(client, clinic_admin, clinic, patient, make_visit, days, message):
    make_visit(patient, timezone.localdate() + timedelta(days=3))
    log_in(client, clinic_admin)
    response = client.post(
        reverse("clinic-reminder-settings", args=[clinic.code]),
        {
            "visit_reminder_on": "on",
            "dressing_check_on": "on",
            "dressing_days": days,
            "symptom_days": "3",
            "default_reminder_time": "09:00",
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert "reminder_settings_" not in response.text  # no constraint names
    assert not ClinicReminderSettings.objects.exists()


def test_a_huge_dressing_period_is_refused_before_anything_is_planned(
    clinic_admin, clinic, patient, make_visit
):
    from django.core.exceptions import ValidationError

    from portal import services

    make_visit(patient, timezone.localdate() + timedelta(days=3))
    with pytest.raises(ValidationError) as refused:
        services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=32767)
    assert "Choose at most 28 days." in str(refused.value)
    assert not Reminder.objects.exists()
    assert not ClinicReminderSettings.objects.exists()


# Signed in once per test, not once per example: the clients below keep their session.


@pytest.fixture
def staff_client(client, clinician):
    log_in(client, clinician)
    return client


@pytest.fixture
def visit(patient, make_visit):
    return make_visit(patient, timezone.localdate() + timedelta(days=5))


@pytest.fixture
def admin_client(client, clinic_admin):
    log_in(client, clinic_admin)
    return client


@pytest.fixture
def patient_client(client, patient):
    log_in(client, patient.user)
    return client


@FUZZ
@given(
    local_date=st.text(max_size=30) | st.dates().map(date.isoformat),
    local_time=st.text(max_size=12),
    status=st.text(max_size=12) | st.sampled_from(["move", "complete", "shift", "cancel"]),
    sites=st.text(max_size=3000),
)
@example(local_date="0001-01-01", local_time="00:00", status="move", sites="")
@example(local_date="9999-12-31", local_time="23:59", status="complete", sites="")
def test_the_visit_form_never_fails(staff_client, visit, local_date, local_time, status, sites):
    data = {"action": status, "local_date": local_date, "local_time": local_time, "sites": sites}
    response = staff_client.post(reverse("visit-manage", args=[visit.code]), data)
    assert response.status_code in (200, 302)


@FUZZ
@given(
    dressing_days=st.integers(min_value=-(2**40), max_value=2**40).map(str) | st.text(max_size=10),
    symptom_days=st.integers(min_value=-(2**40), max_value=2**40).map(str) | st.text(max_size=10),
    time=st.text(max_size=10),
)
def test_the_clinic_reminder_settings_form_never_fails(
    admin_client, clinic, dressing_days, symptom_days, time
):
    data = {"dressing_days": dressing_days, "symptom_days": symptom_days, "default_reminder_time": time}
    response = admin_client.post(reverse("clinic-reminder-settings", args=[clinic.code]), data)
    assert response.status_code in (200, 302)
    assert "reminder_settings_" not in response.text


@FUZZ
@given(query=st.text(max_size=300), page=st.text(max_size=30))
@example(query="\x00", page="1")
def test_the_patient_search_never_fails(staff_client, query, page):
    assert staff_client.get(reverse("patient-list"), {"q": query, "page": page}).status_code == 200


@FUZZ
@given(
    name=st.text(max_size=200),
    email=st.text(max_size=300),
    language=st.text(max_size=10),
    zone=st.text(max_size=70),
)
def test_the_enrolment_form_never_fails(staff_client, clinic, name, email, language, zone):
    data = {"clinic": str(clinic.pk), "name": name, "email": email, "language": language, "time_zone": zone}
    assert staff_client.post(reverse("patient-enrol"), data).status_code in (200, 302)


@FUZZ
@given(code=st.text(max_size=60), body=st.text(max_size=200))
def test_the_reminder_api_never_fails(patient_client, code, body):
    response = patient_client.post(f"/api/v1/reminders/{code}/read/", body, content_type="application/json")
    assert response.status_code in (400, 403, 404, 405)


UNREADABLE_JSON = [
    pytest.param("[" * 100_000 + "]" * 100_000, id="nested-100000-deep"),
    pytest.param(b'{"name": "\xff"}', id="not-utf-8"),
    pytest.param('{"name": ' + "9" * 5000 + "}", id="5000-digit-number"),
    pytest.param('{"name": ', id="cut-short"),
]


@pytest.mark.parametrize("body", UNREADABLE_JSON)
def test_a_clinic_system_sending_unreadable_json_is_told_so_in_words(clinic, clinic_admin, body):
    key = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="write").key
    client = Client(headers={"Authorization": f"Bearer {key}"})
    response = client.post("/api/v1/patients/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON."}
    assert not Patient.objects.exists()


@pytest.mark.parametrize("body", UNREADABLE_JSON)
def test_a_phone_sending_unreadable_json_is_told_so_in_words(patient_client, body):
    response = patient_client.post("/api/v1/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON."}
    assert not PushSubscription.objects.exists()


# --- Names are one line of visible text ---------------------------------------------------

NAME_REFUSED = "Type the name without invisible control or text-direction characters."
UNSAFE_NAMES = [
    pytest.param("ctl\x1b[31m\x07name", id="escape-and-bell"),
    pytest.param("Eve\u202egnp.exe", id="right-to-left-override"),
    pytest.param("Ann\u2066 Lee", id="isolate"),
    pytest.param("two\nlines", id="line-break"),
    pytest.param("c1\x9bname", id="c1-control"),
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_enrolling_a_patient_refuses_control_characters_in_the_name(staff_client, clinic, name):
    data = {
        "clinic": str(clinic.pk),
        "name": name,
        "email": "new.patient@example.test",
        "language": "en",
        "time_zone": "UTC",
    }
    response = staff_client.post(reverse("patient-enrol"), data)
    assert response.status_code == 200
    assert NAME_REFUSED in response.text
    assert 'value="new.patient@example.test"' in response.text
    assert not Patient.objects.filter(email="new.patient@example.test").exists()


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_editing_a_patient_refuses_control_characters_in_the_name(staff_client, patient, name):
    data = {"name": name, "email": patient.email, "language": "en", "time_zone": "UTC"}
    response = staff_client.post(reverse("patient-edit", args=[patient.code]), data)
    assert response.status_code == 200
    assert NAME_REFUSED in response.text
    patient.refresh_from_db()
    assert patient.name == "Patient"


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_the_clinic_api_refuses_control_characters_in_a_patient_name(clinic, clinic_admin, patient, name):
    key = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="write").key
    client = Client(headers={"Authorization": f"Bearer {key}"})
    data = {"name": name, "email": "new.patient@example.test", "language": "en", "time_zone": "UTC"}
    response = client.post("/api/v1/patients/", data, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"name": [NAME_REFUSED]}
    response = client.patch(
        f"/api/v1/patients/{patient.code}/", {"name": name}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"name": [NAME_REFUSED]}
    assert list(Patient.objects.values_list("name", flat=True)) == ["Patient"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_the_clinic_name_refuses_control_characters(admin_client, clinic, name):
    """The clinic's name goes into email subjects and every patient's pages."""
    data = clinic_settings_form(name=name)
    response = admin_client.post(reverse("clinic-settings", args=[clinic.code]), data)
    assert response.status_code == 200
    assert NAME_REFUSED in response.text
    clinic.refresh_from_db()
    assert (clinic.name, clinic.emergency_number) == ("North Clinic", "")


def test_names_in_any_script_stay_welcome(staff_client, clinic):
    data = {
        "clinic": str(clinic.pk),
        "name": "Renée O'Brien-Núñez 李小龍 محمد",
        "email": "new.patient@example.test",
        "language": "en",
        "time_zone": "UTC",
    }
    assert staff_client.post(reverse("patient-enrol"), data).status_code == 302
    assert Patient.objects.get(email="new.patient@example.test").name == "Renée O'Brien-Núñez 李小龍 محمد"


def test_caregiver_and_staff_invitations_refuse_control_characters_in_the_name(
    client, patient, clinic, clinic_admin
):
    log_in(client, patient.user)
    data = {"name": "Eve\u202egnp.exe", "email": "helper@example.test", "handles_dressings": "on"}
    response = client.post(reverse("caregiver-invite", args=[patient.code]), data)
    assert response.status_code == 200
    assert NAME_REFUSED in response.text
    assert not CaregiverLink.objects.exists()
    log_in(client, clinic_admin)
    data = {"name": "ctl\x1b[31m", "email": "nurse@example.test", "role": "clinician"}
    response = client.post(reverse("clinic-staff", args=[clinic.code]), data)
    assert response.status_code == 200
    assert NAME_REFUSED in response.text
    assert not StaffInvitation.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("p" * 100_000, "Ensure this value has at most 120 characters (it has 100000)."),
        ("p" * 121, "Ensure this value has at most 120 characters (it has 121)."),
        ("nul\x00plan", "Null characters are not allowed."),
        ("ctl\x1b[31m\x07plan", NAME_REFUSED),
        ("Eve\u202enalp", NAME_REFUSED),
    ],
)
def test_care_plan_names_are_bounded_and_one_line(admin_client, clinic, name, message):
    response = admin_client.post(
        reverse("care-plan-add", args=[clinic.code]), {"name": name, "modules": ["dressing-care"]}
    )
    assert response.status_code == 200
    assert message in response.text
    assert not CarePlan.objects.exists()


def test_a_care_plan_name_of_120_characters_is_kept(admin_client, clinic):
    response = admin_client.post(
        reverse("care-plan-add", args=[clinic.code]), {"name": "p" * 120, "modules": ["dressing-care"]}
    )
    assert response.status_code == 302
    assert CarePlan.objects.get().name == "p" * 120


# --- Dates and times a clinic system or a person writes -----------------------------------

TIME_REFUSED = (
    "Enter the time as hours and minutes, for example 09:30, without a time zone or fractions of a second."
)


@pytest.fixture
def clinic_api(clinic, clinic_admin):
    key = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="write").key
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_the_clinic_api_says_a_date_does_not_exist(clinic_api, patient, visit):
    response = clinic_api.post(
        f"/api/v1/visits/{visit.code}/move/",
        {"local_date": "2027-02-29", "local_time": "10:00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"local_date": ["This date does not exist."]}
    response = clinic_api.post(
        f"/api/v1/patients/{patient.code}/courses/",
        {"visits": [{"local_date": "2027-02-29", "local_time": "10:00"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["visits"] == {"0": {"local_date": ["This date does not exist."]}}
    response = clinic_api.get(
        f"/api/v1/patients/{patient.code}/course-proposal/",
        {"first_date": "2027-02-29", "first_time": "10:00", "count": "3"},
    )
    assert response.status_code == 400
    assert response.json() == {"first_date": ["This date does not exist."]}
    visit.refresh_from_db()
    assert visit.local_date == timezone.localdate() + timedelta(days=5)
    assert InjectionVisit.objects.count() == 1


@pytest.mark.parametrize("when", ["10:00+05:00", "10:00Z", "09:00:00.5", "１０:００"])
def test_the_clinic_api_refuses_a_time_with_an_offset_or_a_fraction(clinic_api, patient, visit, when):
    """The offset was dropped without a word: 10:00+05:00 became 10:00 in the clinic's zone."""
    day = (timezone.localdate() + timedelta(days=6)).isoformat()
    response = clinic_api.post(
        f"/api/v1/visits/{visit.code}/move/",
        {"local_date": day, "local_time": when},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"local_time": [TIME_REFUSED]}
    response = clinic_api.get(
        f"/api/v1/patients/{patient.code}/course-proposal/",
        {"first_date": day, "first_time": when, "count": "3"},
    )
    assert response.status_code == 400
    assert response.json() == {"first_time": [TIME_REFUSED]}
    visit.refresh_from_db()
    assert (visit.local_date, visit.local_time) == (timezone.localdate() + timedelta(days=5), time(10, 0))


def test_the_clinic_api_takes_numbers_in_ascii_digits_only(clinic_api, visit):
    response = clinic_api.post(
        f"/api/v1/visits/{visit.code}/shift/", {"days": "１"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"days": ["A valid integer is required."]}
    visit.refresh_from_db()
    assert visit.local_date == timezone.localdate() + timedelta(days=5)


NUMBER_REFUSED = "Enter a whole number with the digits 0 to 9."


@pytest.mark.parametrize("number", ["１０", "١٠"])
def test_the_web_forms_take_numbers_in_ascii_digits_only(admin_client, clinic, patient, visit, number):
    """Django's IntegerField took full-width ("１０") and Arabic-Indic ("١٠") digits as 10; the
    clinic API refuses them, and so do the forms now, in words and keeping what was typed."""
    planned = admin_client.post(
        reverse("course-plan", args=[patient.code]),
        {
            "action": "propose",
            "first_date": visit.local_date.isoformat(),
            "first_time": "10:00",
            "length": "count",
            "count": number,
        },
    )
    assert planned.status_code == 200 and NUMBER_REFUSED in planned.text
    assert f'value="{number}"' in planned.text
    shifted = admin_client.post(
        reverse("visit-manage", args=[visit.code]), {"action": "shift", "days": number}
    )
    assert shifted.status_code == 200 and NUMBER_REFUSED in shifted.text
    visit.refresh_from_db()
    assert visit.local_date == timezone.localdate() + timedelta(days=5)
    reminders = admin_client.post(
        reverse("clinic-reminder-settings", args=[clinic.code]),
        {"dressing_days": number, "symptom_days": number, "default_reminder_time": "09:00"},
    )
    # Beside each field, and again in the summary at the top of the page.
    summary, form = reminders.text.split('<form method="post" class="stacked"', 1)
    assert reminders.status_code == 200 and form.count(NUMBER_REFUSED) == 2
    assert 'href="#id_dressing_days"' in summary and 'href="#id_symptom_days"' in summary
    assert not ClinicReminderSettings.objects.exists()
    settings_page = admin_client.post(
        reverse("clinic-settings", args=[clinic.code]), clinic_settings_form(acknowledge_within_days=number)
    )
    assert settings_page.status_code == 200 and NUMBER_REFUSED in settings_page.text
    clinic.refresh_from_db()
    assert clinic.acknowledge_within_days != 10


@pytest.mark.parametrize("when", ["09:00:00.5", "10:00+05:00", "０９:００"])
def test_the_reminder_time_in_settings_is_hours_and_minutes(patient_client, patient, when):
    data = {"language": "en", "time_zone": "UTC", "reminder_time": when}
    response = patient_client.post(reverse("account-settings"), data)
    assert response.status_code == 200
    assert TIME_REFUSED in response.text
    assert f'value="{when}"' in response.text
    patient.refresh_from_db()
    assert patient.reminder_time == time(9, 0)


@pytest.mark.parametrize("when", ["09:00:00.5", "10:00+05:00", "０９:００"])
def test_the_clinic_workspace_takes_times_as_hours_and_minutes(admin_client, clinic, patient, visit, when):
    """The clinic API and the patient's settings refused these already; the nurse's own forms
    took them (a fraction of a second kept, an offset dropped)."""
    move = admin_client.post(
        reverse("visit-manage", args=[visit.code]),
        {"action": "move", "local_date": visit.local_date.isoformat(), "local_time": when},
    )
    assert move.status_code == 200 and TIME_REFUSED in move.text
    visit.refresh_from_db()
    assert visit.local_time == time(10, 0)
    propose = admin_client.post(
        reverse("course-plan", args=[patient.code]),
        {
            "action": "propose",
            "first_date": visit.local_date.isoformat(),
            "first_time": when,
            "length": "count",
            "count": "4",
        },
    )
    assert propose.status_code == 200 and TIME_REFUSED in propose.text
    settings_page = admin_client.post(
        reverse("clinic-reminder-settings", args=[clinic.code]),
        {
            "visit_reminder_on": "on",
            "dressing_check_on": "on",
            "dressing_days": "7",
            "symptom_days": "3",
            "default_reminder_time": when,
        },
    )
    assert settings_page.status_code == 200 and TIME_REFUSED in settings_page.text
    assert not ClinicReminderSettings.objects.exists()
