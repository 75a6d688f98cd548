"""The clinic home, the patient list (search ignoring case and accents) and the handout pack."""

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from portal import assignments
from portal.models import AuditEvent, CaregiverLink, Delivery, Patient, Reminder
from portal.search import fold
from tests.helpers import log_in, page_in


@pytest.fixture
def nurse(client, clinician):
    log_in(client, clinician)
    return client


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Núñez", "nunez"), ("  ÉLODIE   Ørsted ", "elodie orsted"), ("Straße", "strasse"), ("Łódź", "lodz")],
)
def test_fold(text, folded):
    assert fold(text) == folded


def enrol(nurse, clinic, name, email):
    response = nurse.post(
        reverse("patient-enrol"),
        {"clinic": clinic.pk, "name": name, "email": email, "language": "es", "time_zone": "UTC"},
    )
    assert response.status_code == 302, response.content
    return Patient.objects.get(email=email)


def test_search_ignores_case_and_accents(nurse, clinic, make_patient):
    enrol(nurse, clinic, "María Núñez", "maria@example.test")
    enrol(nurse, clinic, "Ana Nunes", "ana@example.test")
    found = lambda q: [p.name for p in nurse.get(reverse("patient-list"), {"q": q}).context["page"]]  # noqa: E731
    assert found("nunez") == ["María Núñez"]
    assert found("NÚÑEZ maria") == ["María Núñez"]
    assert found("nun") == ["Ana Nunes", "María Núñez"]
    assert found("ana@example") == ["Ana Nunes"]
    assert found("zzz") == []
    # A record written outside the services is found too, also after a partial save.
    other = make_patient(clinic, "jose@example.test", name="José Alvares")
    assert found("alvares") == ["José Alvares"]
    other.name = "José Álvarez"
    other.save(update_fields=["name"])
    assert found("alvarez") == ["José Álvarez"]


def test_patient_list_pages_and_hides_other_clinics(nurse, clinic, other_clinic, make_patient):
    for i in range(55):
        make_patient(clinic, f"p{i:02}@example.test", account=False, name=f"Patient {i:02}")
    make_patient(other_clinic, "elsewhere@example.test", name="Patient Elsewhere")
    first = nurse.get(reverse("patient-list"))
    second = nurse.get(reverse("patient-list"), {"page": 2})
    names = [p.name for p in first.context["page"]] + [p.name for p in second.context["page"]]
    assert len(names) == 55 and "Patient Elsewhere" not in names
    assert AuditEvent.objects.filter(action="patients.listed", clinic=clinic).count() == 2


def test_clinic_home_lists_what_needs_attention(nurse, clinic, patient, make_patient, make_visit, clinician):
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    make_visit(patient, monday + timedelta(days=6))
    invited = make_patient(clinic, "invited@example.test", account=False, name="Ivy Invited")
    CaregiverLink.objects.create(patient=patient, email="helper@example.test", name="Hal Helper")
    visit = make_visit(patient, monday - timedelta(days=14))
    reminder = Reminder.objects.create(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="dressing_check",
        audience="patient",
        day=today,
        due_at=timezone.now() - timedelta(days=1),
        next_attempt_at=timezone.now(),
        status=Reminder.Status.SENT,
    )
    Delivery.objects.create(reminder=reminder, channel="email", status=Delivery.Status.FAILED, attempts=5)
    (old,) = assignments.assign_modules(
        patient=patient, by=clinician, slugs=["dressing-care"], now=timezone.now() - timedelta(days=8)
    )
    assignments.assign_modules(patient=patient, by=clinician, slugs=["when-to-call"])  # too recent
    response = nurse.get(reverse("clinic-home"))
    sections = response.context["sections"]
    assert [v.course.patient for v in sections["visits"][1]] == [patient]
    assert list(sections["failing"][1]) == [patient]
    assert list(sections["not_accepted"][1]) == [invited]
    assert [link.name for link in sections["caregivers_invited"][1]] == ["Hal Helper"]
    assert [a.module_slug for a in sections["unacknowledged"][1]] == ["dressing-care"]
    # Once acknowledged it leaves the list.
    assignments.record_progress(assignment=old, reader=patient.user, state="acknowledged", language="en")
    response = nurse.get(reverse("clinic-home"))
    assert response.context["sections"]["unacknowledged"][1] == []


def test_staff_land_on_the_clinic_home(nurse):
    assert nurse.get(reverse("home")).url == reverse("clinic-home")


def spanish_title(slug: str) -> str:
    text = (Path(__file__).parents[2] / "education" / "content" / slug / "es.html").read_text()
    return tomllib.loads(text.split("<!--", 1)[1].split("-->", 1)[0])["title"]


def test_handout_pack_without_modules_still_gives_the_numbers_to_call(nurse, patient):
    """The pack's call box is the first thing on paper; it must hold the clinic's numbers even
    when no module (whose text also has them) is assigned."""
    response = nurse.get(reverse("handout-pack", args=[patient.code]))
    box = response.content.decode().split('class="clinic-phones call-box"', 1)[1].split("</div>", 1)[0]
    assert 'href="tel:+15550100"' in box and 'href="tel:+15550199"' in box


def test_handout_pack_in_the_patients_language(nurse, patient, clinician, make_visit):
    patient.language = "es"
    patient.save()
    make_visit(patient, timezone.localdate() + timedelta(days=3))
    assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care", "when-to-call"])
    response = nurse.get(reverse("handout-pack", args=[patient.code]))
    text = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es"' in text
    assert patient.name in text
    assert "+1 555 0100" in text and "+1 555 0199" in text
    titles = [entry["document"].title for entry in response.context["modules"]]
    # The Spanish titles, read from the content files, in reading order.
    assert titles == [spanish_title("dressing-care"), spanish_title("when-to-call")]
    assert "data-print" in text
    # The nurse's toolbar stays in the nurse's language.
    assert "Print</button>" in text
    assert AuditEvent.objects.filter(action="patient.pack_printed", patient_code=patient.code).exists()


# Monday 2 March 2026: this week runs from Monday 2 to Sunday 8 March.
MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "week", "row", "since"),
    [
        # English: Django's MONTH_DAY_FORMAT "F j" and the time as "P" (2:30 p.m.).
        ("en", "(March 2 to March 8)", "Wednesday, March 4, 2:30 p.m.", "since March 2, 2026"),
        # Arabic: day before month, the weekday first, Arabic commas, the time as "g:i A".
        ("ar", "(من 2 مارس إلى 8 مارس)", "الأربعاء، 4 مارس، 2:30 م", "منذ 2 مارس، 2026"),
        # German: "j. F", the time as "H:i" after the date, no comma before it.
        ("de", "(2. März bis 8. März)", "Mittwoch, 4. März 14:30", "seit 2. März 2026"),
    ],
)
def test_clinic_home_dates_in_the_readers_language(
    client, clinic, clinician, patient, make_patient, make_visit, clock, language, week, row, since
):
    """Before, fixed formats: "(2 Mar to 8 Mar)", "Wed 4 Mar, 14:30" and "since 2 Mar" in every
    language, English order and a Latin comma in Arabic too."""
    clock.now = MONDAY
    make_visit(patient, date(2026, 3, 4), time(14, 30))
    invited = make_patient(clinic, "invited@example.test", account=False, name="Ivy Invited")
    Patient.objects.filter(pk=invited.pk).update(created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    html = page_in(client, clinician, language, reverse("clinic-home"))
    assert week + "</h2>" in html
    assert f">Patient</a>: {row}</li>" in html
    assert f" · {since}</li>" in html


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Wednesday, March 4, 2026, 2:30 p.m."),
        ("ar", "الأربعاء، 4 مارس، 2026، 2:30 م"),
        # Simplified Chinese: the date first, then the weekday, then the time.
        ("zh-hans", "2026年3月4日 星期三 14:30"),
    ],
)
def test_handout_pack_visits_in_the_patients_language(nurse, patient, make_visit, clock, language, line):
    """Before: "l j F Y" then ", " and the time in every language ("星期三 4 三月 2026, 14:30",
    "الأربعاء 4 مارس 2026, 2:30 م")."""
    clock.now = MONDAY
    Patient.objects.filter(pk=patient.pk).update(language=language)
    make_visit(patient, date(2026, 3, 4), time(14, 30))
    html = nurse.get(reverse("handout-pack", args=[patient.code])).content.decode()
    assert f"<li>{line}</li>" in html


@pytest.mark.parametrize(
    ("language", "cell"),
    [("en", "March 4, 2026"), ("ar", "4 مارس، 2026"), ("de", "4. März 2026")],
)
def test_patient_list_next_visit_in_the_readers_language(
    client, clinician, patient, make_visit, clock, language, cell
):
    """Before: "j M Y" in every language ("4 Mar 2026"; no Arabic comma)."""
    clock.now = MONDAY
    make_visit(patient, date(2026, 3, 4), time(14, 30))
    html = page_in(client, clinician, language, reverse("patient-list"))
    assert f"<td>{cell}</td>" in html
