"""The clinical wording of reminders: the same actions as the guide, with the clinic's numbers."""

from datetime import date, time

import pytest

from portal.models import Clinic, Reminder
from portal.reminders import render_reminder


@pytest.fixture
def text(patient, make_visit):
    def render(rule: str, audience: str = "patient", language: str = "en") -> str:
        # One visit per patient and time: later renders reuse it.
        visit = patient.visits.first() or make_visit(patient, date(2026, 3, 10))
        patient.user.language = language
        reminder = Reminder(
            recipient=patient.user, patient=patient, visit=visit, rule=rule, audience=audience
        )
        return render_reminder(reminder).body

    return render


def test_symptom_text_gives_the_clinics_emergency_number(text, patient) -> None:
    Clinic.objects.filter(pk=patient.clinic_id).update(emergency_number="112")
    patient.clinic.refresh_from_db()
    body = text("symptom_watch")
    assert (
        "Trouble breathing, hives, or swelling of the face, lips, tongue or throat: get emergency care now.\n"
        "For emergency care, call \u2066112\u2069."
    ) in body
    assert "local emergency number" not in body


def test_without_a_clinic_number_it_says_the_local_emergency_number(text) -> None:
    body = text("symptom_watch")
    assert body.endswith("For emergency care, call your local emergency number.")


def test_symptom_text_calls_about_a_red_site_whether_or_not_it_oozes(text) -> None:
    body = text("symptom_watch")
    assert (
        "- an injection site that is red, swollen or warm, has skin changes or does not heal, whether or not it oozes"
        in body
    )
    assert "red, swollen, warm or oozing" not in body


def test_dressing_review_keeps_weeping_and_infection_apart(text) -> None:
    lines = text("dressing_review").splitlines()
    assert lines[1] == (
        "Call your care team now if a site is red, swollen or warm, has skin changes or does not heal, "
        "whether or not it oozes."
    )
    assert lines[2] == "Daytime: \u2066+1 555 0100\u2069. After hours: \u2066+1 555 0199\u2069."
    assert lines[3] == (
        "If a site only weeps or oozes, with none of these signs, keep it covered with a dressing "
        "and look again tomorrow."
    )


def test_a_caregiver_who_must_not_handle_dressings_is_told_what_to_do_after_contact(text) -> None:
    body = text("dressing_safety", audience="caregiver_non_handler")
    assert "wash the area well with soap and water or a disinfectant." in body
    assert "If sores or blisters appear after that, call your own health-care provider." in body


@pytest.mark.parametrize(("day", "words"), [(None, "tomorrow"), (date(2026, 3, 10), "today")])
def test_the_visit_time_is_not_followed_by_a_second_full_stop(patient, make_visit, day, words) -> None:
    """English times end in "p.m.": the sentence ends with the date, not with "2:30 p.m.."."""
    visit = make_visit(patient, date(2026, 3, 10), time(14, 30))
    reminder = Reminder(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="visit_reminder",
        audience="patient",
        day=day,
    )
    body = render_reminder(reminder).body
    assert body.startswith(f"Your next treatment visit is {words} at 2:30 p.m., March 10, 2026.\n")
    assert "p.m.." not in body


@pytest.mark.parametrize("language", ["es", "fr", "de", "it", "pt-br", "zh-hans", "ar"])
def test_the_new_wording_is_translated(text, patient, language: str) -> None:
    Clinic.objects.filter(pk=patient.clinic_id).update(emergency_number="112")
    patient.clinic.refresh_from_db()
    english = text("symptom_watch") + text("dressing_review")
    translated = text("symptom_watch", language=language) + text("dressing_review", language=language)
    assert translated != english
    for line in english.splitlines():
        if line.strip() and not line.startswith("Daytime"):
            assert line not in translated, (language, line)
    assert "112" in translated


# --- Phone numbers in right-to-left text ------------------------------------------------------
# In Arabic a number left to the text's direction reads "0100 555 1+": each number is wrapped in
# Unicode's left-to-right isolate (LRI U+2066 ... PDI U+2069), the same in every language and on
# every channel (the text is plain: push, email, inbox and the reminder's page all show it).

DAYTIME = "\u2066+1 555 0100\u2069"
AFTER_HOURS = "\u2066+1 555 0199\u2069"
EMERGENCY = "\u2066112\u2069"


def bare_numbers(body: str) -> list[str]:
    """The numbers that appear without their isolate around them."""
    unwrapped = body.replace(DAYTIME, "").replace(AFTER_HOURS, "").replace(EMERGENCY, "")
    return [number for number in ("555 0100", "555 0199", "112") if number in unwrapped]


@pytest.mark.parametrize("language", ["ar", "en", "es", "fr", "de", "it", "pt-br", "zh-hans"])
def test_every_number_in_a_reminder_is_kept_left_to_right(text, patient, language) -> None:
    Clinic.objects.filter(pk=patient.clinic_id).update(emergency_number="112")
    patient.clinic.refresh_from_db()
    symptoms = text("symptom_watch", language=language)
    assert DAYTIME in symptoms and AFTER_HOURS in symptoms and EMERGENCY in symptoms
    review = text("dressing_review", language=language)
    assert DAYTIME in review and AFTER_HOURS in review
    visit = text("visit_reminder", language=language)
    assert DAYTIME in visit
    assert bare_numbers(symptoms + review + visit) == []


def test_the_arabic_symptom_reminder_reads_the_numbers_left_to_right(text) -> None:
    """The sentence of the report: "Daytime: … After hours: …", in Arabic."""
    line = next(line for line in text("symptom_watch", language="ar").splitlines() if "555" in line)
    assert line.count("\u2066") == line.count("\u2069") == 2
    assert DAYTIME in line and AFTER_HOURS in line
