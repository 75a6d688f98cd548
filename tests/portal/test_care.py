"""The patient's and caregiver's own pages (issue 11, points 1-4): today's care, My care, the
module reader with "I understand" and teach-back, the symptom check and the dressing log.

Expected words and dates are written out by hand; the clinical ones come from
shared/clinical/tvec-facts.md (§2 dressings: at least a week, longer while weeping; §6 urgent
signs; §5 common side effects)."""

import logging
from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse
from django.utils.html import escape

from education.teachback import Choice, Question
from portal import care
from portal.assignments import assign_modules
from portal.models import (
    AssignmentProgress,
    AuditEvent,
    DressingLogEntry,
    Reminder,
    SymptomCheck,
    TeachBackAnswer,
)
from portal.reminders import replan_patient
from tests.helpers import log_in

pytestmark = pytest.mark.django_db


# Questions of our own, so the tests do not follow edits to the content.
QUESTIONS = [
    Question(
        id="how-long",
        text="How long do you keep the dressings on after a treatment?",
        choices=[
            Choice("two-days", "Two days", False),
            Choice("week", "At least a week, longer if a site weeps or oozes", True),
        ],
        explanation="Keep the sites covered for at least a week after each treatment.",
        sources=["R16", "R19"],
    ),
    Question(
        id="loose",
        text="A dressing comes loose. What do you do?",
        choices=[
            Choice("wait", "Wait for the next visit", False),
            Choice("replace", "Replace it at once", True),
        ],
        explanation="Put on a new, clean dressing straight away.",
        sources=["R16"],
    ),
]


@pytest.fixture
def questions(monkeypatch):
    monkeypatch.setattr(care, "teachback_questions", lambda slug, language, handles_dressings=True: QUESTIONS)
    return QUESTIONS


@pytest.fixture
def treated(patient, make_visit, clock):
    """Treated on 12 March; today is 15 March (day 3); the next visit is on 26 March."""
    make_visit(patient, date(2026, 3, 12), time(10, 0), status="done")
    make_visit(patient, date(2026, 3, 26), time(10, 0))
    clock.now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    return patient


def page(client, name, *args, **kwargs):
    return client.get(reverse(name, args=args), **kwargs)


# --- Today --------------------------------------------------------------------------------------


def test_today_says_the_day_in_words_with_numbers_tasks_and_the_next_visit(client, treated, clinician):
    assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    html = page(client, "care-home").text
    assert "Day 3 after your treatment on March 12: keep the dressings on." in html
    assert 'href="tel:+15550100"' in html and 'href="tel:+15550199"' in html
    assert "For emergency care, call your local emergency number." in html
    # The numbers come before the tasks and the visit: the first screen of a phone.
    assert html.index("tel:+15550100") < html.index("Dressing checked") < html.index("In 11 days")
    for label in ("Dressing checked", "Dressing changed", "Dressing came loose", "Still weeping or oozing"):
        assert label in html
    assert "All sites are dry" not in html  # asked from the review day on
    assert "How to care for dressings" in html or "Dressing care" in html or "dressing" in html
    assert reverse("care-read", args=[treated.code, treated.assignments.get().code]) in html


def test_the_day_and_the_countdown_in_arabic_use_the_right_plurals(client, treated):
    treated.user.language = "ar"
    treated.user.save(update_fields=["language"])
    log_in(client, treated.user)
    html = page(client, "care-today", treated.code).text
    # Arabic plurals: 3 to 10 take the "few" form (أيام), 11 to 99 the "many" form (يومًا).
    assert "مضت 3 أيام على جلسة علاجك بتاريخ" in html
    assert "بعد 11 يومًا" in html


def test_arabic_dates_with_a_time_read_with_arabic_commas(client, treated):
    """A walk found "14 ديسمبر، 2026, 10:00 ص" on Today and My care, and "تم الفحص, 6:57 ص"
    under today's tasks (and on the patient's page): a Latin comma written between a date and
    a time in every language.
    The date with its time now comes in the language's own order (March 26, 2026, 10 a.m.
    in English, unchanged)."""
    treated.user.language = "ar"
    treated.user.save(update_fields=["language"])
    care.log_dressing(patient=treated, by=treated.user, kind="checked")
    log_in(client, treated.user)
    today = page(client, "care-today", treated.code).text
    assert "26 مارس، 2026، 10:00 ص" in today
    assert "تم الفحص · 12:00 م · أنت" in today
    assert "26 مارس، 2026، 10:00 ص" in page(client, "care-plan", treated.code).text
    assert "26 مارس، 2026، 10:00 ص" in page(client, "patient-detail", treated.code).text


def test_english_dates_with_a_time_keep_their_order(client, treated):
    log_in(client, treated.user)
    assert "March 26, 2026, 10 a.m." in page(client, "care-today", treated.code).text
    assert "March 26, 2026, 10 a.m." in page(client, "care-plan", treated.code).text


def test_a_treatment_day_and_the_dressing_review_day(client, patient, make_visit, clock):
    make_visit(patient, date(2026, 3, 1), time(10, 0))
    log_in(client, patient.user)
    clock.now = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    assert "Treatment day, March 1: keep the dressings on." in page(client, "care-home").text
    clock.now = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    html = page(client, "care-home").text
    assert "Day 7 after the treatment on March 1: check whether every site is dry." in html
    assert "All sites are dry" in html


def test_a_caregiver_sees_the_tasks_only_when_they_may_handle_dressings(client, treated, link_caregiver):
    helper = link_caregiver(treated, "helper@example.test").caregiver
    pregnant = link_caregiver(
        treated, "pregnant@example.test", pregnant_or_immunocompromised=True, handles_dressings=False
    ).caregiver
    watcher = link_caregiver(treated, "watcher@example.test", handles_dressings=False).caregiver
    log_in(client, helper)
    html = page(client, "care-home").text
    assert "Day 3 after the treatment on March 12: keep the dressings on." in html
    assert "Dressing checked" in html
    for user in (pregnant, watcher):
        log_in(client, user)
        html = page(client, "care-today", treated.code).text
        assert "Day 3 after the treatment" in html and "tel:+15550100" in html
        assert "Dressing checked" not in html and 'name="kind"' not in html
        response = client.post(reverse("care-dressings", args=[treated.code]), {"kind": "changed"})
        assert response.status_code == 403
        assert "Your account does not allow this. Nothing was changed." in response.text
    assert not DressingLogEntry.objects.exists()


def test_a_caregiver_of_two_patients_chooses_one(client, treated, other_patient, link_caregiver):
    link_caregiver(treated, "both@example.test")
    user = link_caregiver(other_patient, "both@example.test").caregiver
    log_in(client, user)
    html = page(client, "care-home").text
    assert reverse("care-today", args=[treated.code]) in html
    assert reverse("care-today", args=[other_patient.code]) in html
    assert "Choose another person" in page(client, "care-today", other_patient.code).text


def test_signed_in_patients_and_caregivers_start_at_today_and_staff_at_the_clinic(
    client, patient, caregiver, clinician
):
    for user in (patient.user, caregiver):
        log_in(client, user)
        assert client.get("/")["Location"] == reverse("care-home")
        assert f'href="{reverse("care-home")}">Today<' in page(client, "care-home").text
    log_in(client, clinician)
    assert page(client, "care-home")["Location"] == reverse("clinic-home")


@pytest.mark.parametrize(
    "name,extra",
    [("care-today", []), ("care-plan", []), ("care-dressings", []), ("care-symptoms", [])],
)
def test_a_foreign_patient_a_revoked_caregiver_and_clinic_staff_get_a_404(
    client, patient, other_patient, revoked_caregiver, clinician, name, extra
):
    url = reverse(name, args=[patient.code, *extra])
    for user in (other_patient.user, revoked_caregiver, clinician):
        log_in(client, user)
        assert client.get(url).status_code == 404, user
        assert client.post(url, {"kind": "checked", "sign": "eyes"}).status_code == 404, user
    assert not DressingLogEntry.objects.exists() and not SymptomCheck.objects.exists()


def test_a_revoked_caregiver_gets_nothing_on_their_start_page(client, patient, revoked_caregiver):
    log_in(client, revoked_caregiver)
    html = page(client, "care-home").text
    assert patient.name not in html and str(patient.code) not in html
    assert "You are no longer linked to anyone." in html


# --- Dressing log ---------------------------------------------------------------------------------


def test_one_tap_writes_one_entry_even_when_sent_twice(client, treated, clock):
    log_in(client, treated.user)
    url = reverse("care-dressings", args=[treated.code])
    first = client.post(url, {"kind": "checked", "back": "today"})
    assert first["Location"] == reverse("care-today", args=[treated.code])
    clock.now = datetime(2026, 3, 15, 12, 0, 30, tzinfo=UTC)
    client.post(url, {"kind": "checked", "back": "today"})
    [entry] = DressingLogEntry.objects.all()
    assert (entry.kind, entry.recorded_by, entry.at) == (
        "checked",
        treated.user,
        datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
    )
    html = page(client, "care-today", treated.code).text
    assert "Saved: Checked." in html
    assert "Checked · noon · you" in html


def test_the_log_shows_who_wrote_what_and_when(client, treated, link_caregiver, clock):
    helper = link_caregiver(treated, "helper@example.test", name="Sam").caregiver
    care.log_dressing(patient=treated, by=helper, kind="changed")
    clock.now = datetime(2026, 3, 15, 18, 0, tzinfo=UTC)
    care.log_dressing(patient=treated, by=treated.user, kind="checked")
    log_in(client, treated.user)
    html = page(client, "care-dressings", treated.code).text
    assert html.index("Checked</strong> · March 15, 2026, 6 p.m. · you") < html.index(
        "Changed</strong> · March 15, 2026, noon · Sam"
    )


def test_bad_input_gets_a_translated_error_and_changes_nothing(client, treated):
    treated.user.language = "fr"
    treated.user.save(update_fields=["language"])
    log_in(client, treated.user)
    response = client.post(reverse("care-dressings", args=[treated.code]), {"kind": "soaked"})
    assert response.status_code == 400
    assert "Choisissez ce que vous avez vu ou fait." in response.text
    response = client.post(reverse("care-symptoms", args=[treated.code]), {"sign": ["eyes"], "none": "on"})
    assert response.status_code == 400
    assert "Décochez" in response.text
    assert 'value="eyes" checked' in response.text  # what the person ticked is kept
    assert not DressingLogEntry.objects.exists() and not SymptomCheck.objects.exists()


def test_still_weeping_at_the_review_keeps_daily_checks_until_dry(client, patient, make_visit, clock):
    """tvec-facts §2: keep the sites covered longer while a site weeps or oozes. Treated on
    1 March at 10:00 UTC; 7 dressing days; the review is on 8 March."""
    make_visit(patient, date(2026, 3, 1), time(10, 0))
    replan_patient(patient, now=datetime(2026, 2, 20, tzinfo=UTC))
    log_in(client, patient.user)
    url = reverse("care-dressings", args=[patient.code])

    def pending(rule):
        """Pending reminders after the review day (8 March): the follow-ups."""
        return list(
            Reminder.objects.filter(
                patient=patient, recipient=patient.user, rule=rule, status="pending", day__gt=date(2026, 3, 8)
            )
            .order_by("day")
            .values_list("day", flat=True)
        )

    assert pending("dressing_check") == [] and pending("dressing_review") == []
    clock.now = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    client.post(url, {"kind": "weeping", "back": "today"})
    assert pending("dressing_check")[:1] == [date(2026, 3, 9)]
    assert pending("dressing_review")[:1] == [date(2026, 3, 9)]

    clock.now = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    html = page(client, "care-today", patient.code).text
    assert "Day 8 after the treatment on March 1: a site was still weeping or oozing." in html
    assert "All sites are dry" in html and "Dressing checked" in html

    client.post(url, {"kind": "dry", "back": "today"})
    assert pending("dressing_check") == [] and pending("dressing_review") == []
    html = page(client, "care-today", patient.code).text
    assert "The dressing days are over when every site is dry." in html
    assert "Dressing checked" not in html


# --- My care and the reader -------------------------------------------------------------------------


def test_my_care_lists_visits_with_dressing_periods_and_reading_with_progress(client, treated, clinician):
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    html = page(client, "care-plan", treated.code).text
    # 12 March + 7 dressing days: day 0 to day 6.
    assert "Dressings on: March 12 to March 18, longer if a site weeps or oozes" in html
    assert "Dressings on: March 26 to April 1" in html
    # The treatment of 12 March is still in its dressing days: shown, not folded away as earlier.
    assert "earlier visit" not in html
    assert reverse("care-read", args=[treated.code, assignment.code]) in html
    assert ">New<" in html


def test_reading_records_opened_then_i_understand(client, treated, clinician):
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    url = reverse("care-read", args=[treated.code, assignment.code])
    assert "<h1>" in client.get(url).text
    progress = AssignmentProgress.objects.get(assignment=assignment, reader=treated.user)
    assert progress.state == "opened"
    done = reverse("care-read-done", args=[treated.code, assignment.code])
    assert client.post(done, {"state": "nonsense"}).status_code == 302
    progress.refresh_from_db()
    assert progress.state == "opened"
    client.post(done, {"state": "acknowledged"})
    progress.refresh_from_db()
    assert progress.state == "acknowledged" and progress.finished_at and progress.acknowledged_at
    assert "You said “I understand” on March 15, 2026." in client.get(url).text
    assert ">Acknowledged<" in page(client, "care-plan", treated.code).text


def test_i_have_questions_reaches_the_clinic_until_the_reader_understands(client, treated, clinician, clock):
    """A walk found "I have questions" shown to staff as "Read to the end", with nothing on the
    clinic home: the clinic could not know to answer them."""
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    url = reverse("care-read", args=[treated.code, assignment.code])
    done = reverse("care-read-done", args=[treated.code, assignment.code])
    client.get(url)
    client.post(done, {"state": "finished"})
    assert "You said you have questions on March 15, 2026." in client.get(url).text

    log_in(client, clinician)
    reading = page(client, "patient-assignments", treated.code).text
    assert "“I have questions” on March 15, 2026" in reading
    home = page(client, "clinic-home").text
    section = home.split('id="questions-heading"', 1)[1].split("</section>", 1)[0]
    assert treated.name in section and "Caring for your dressing" in section

    # Asked again two days later (the state is already past "opened"): the latest time counts.
    clock.now = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    log_in(client, treated.user)
    client.post(done, {"state": "finished"})
    progress = AssignmentProgress.objects.get(assignment=assignment, reader=treated.user)
    assert progress.state == "finished" and progress.questions_at == datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    assert progress.finished_at == datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # kept from the first time

    # Answered at the visit, the reader says "I understand": off the clinic home, kept as history.
    client.post(done, {"state": "acknowledged"})
    log_in(client, clinician)
    section = page(client, "clinic-home").text.split('id="questions-heading"', 1)[1].split("</section>", 1)[0]
    assert treated.name not in section
    assert "“I have questions” on March 17, 2026" in page(client, "patient-assignments", treated.code).text


def test_only_assigned_modules_of_ones_own_open_in_the_reader(
    client, treated, other_patient, caregiver, clinician
):
    [mine] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    [theirs] = assign_modules(patient=other_patient, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    assert client.get(reverse("care-read", args=[treated.code, theirs.code])).status_code == 404
    assert client.get(reverse("care-read", args=[other_patient.code, theirs.code])).status_code == 404
    mine.withdrawn_at = datetime(2026, 3, 14, tzinfo=UTC)
    mine.save(update_fields=["withdrawn_at"])
    assert client.get(reverse("care-read", args=[treated.code, mine.code])).status_code == 404
    # A patient-only module is not the caregiver's to read.
    [patient_only] = assign_modules(patient=treated, by=clinician, slugs=["treatment-schedule"])
    assert patient_only.audience == "patient"
    log_in(client, caregiver)
    assert client.get(reverse("care-read", args=[treated.code, patient_only.code])).status_code == 404


def test_a_wrong_teach_back_answer_explains_the_right_one_and_reaches_the_clinic(
    client, treated, clinician, questions
):
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    log_in(client, treated.user)
    url = reverse("care-read", args=[treated.code, assignment.code])
    html = client.get(url).text
    assert "How long do you keep the dressings on after a treatment?" in html
    response = client.post(
        reverse("care-answer", args=[treated.code, assignment.code]),
        {"question": "how-long", "choice": "two-days", "language": "en"},
    )
    assert response["Location"] == url + "#q-how-long"
    [answer] = TeachBackAnswer.objects.all()
    assert (answer.question_id, answer.answer, answer.correct) == ("how-long", "two-days", False)
    html = client.get(url).text
    assert "Not quite." in html
    assert "The right answer is: At least a week, longer if a site weeps or oozes" in html
    assert "Keep the sites covered for at least a week after each treatment." in html
    assert "R19" in html
    # No choice: a message beside that question (the page opens there), nothing kept.
    response = client.post(
        reverse("care-answer", args=[treated.code, assignment.code]), {"question": "loose"}
    )
    assert response["Location"] == url + "?unanswered=loose#q-loose"
    assert TeachBackAnswer.objects.count() == 1
    html = client.get(response["Location"]).text
    question = html.split('id="q-loose"', 1)[1].split("</form>", 1)[0]
    assert "Choose one of the answers." in question
    assert "Choose one of the answers." not in html.split('id="q-loose"', 1)[0]
    log_in(client, clinician)
    assert "teach-back: 0 of 1 right" in page(client, "patient-assignments", treated.code).text


# --- Symptom check ---------------------------------------------------------------------------------


def test_an_urgent_sign_shows_tap_to_call_and_says_the_app_does_not_alert(client, treated, caplog):
    log_in(client, treated.user)
    url = reverse("care-symptoms", args=[treated.code])
    html = client.get(url).text
    assert html.index("Call your care team now if you notice:") < html.index("Common after treatment:")
    assert "R16" in html and "R42" in html  # each sign shows its sources
    with caplog.at_level(logging.DEBUG):
        response = client.post(url, {"sign": ["eyes", "flu"]})
        client.post(url, {"sign": ["eyes", "flu"]})  # sent twice: one check
    check = SymptomCheck.objects.get()
    assert (check.signs, check.urgent, check.recorded_by) == (["eyes", "flu"], True, treated.user)
    assert response["Location"] == reverse("care-symptom-result", args=[treated.code, check.code])
    html = client.get(response["Location"]).text
    assert "This app does not alert your care team. Call them yourself, now." in html
    assert 'href="tel:+15550100"' in html and 'href="tel:+15550199"' in html
    assert "Eye pain, eyes that hurt in light, or blurred vision" in html
    assert "Most go away within 3 days." in html
    assert "blurred" not in caplog.text and "eyes" not in caplog.text


def test_a_common_sign_gets_advice_and_the_clinic_reads_the_checks_audited(
    client, treated, caregiver, clinician, other_clinician
):
    log_in(client, caregiver)
    response = client.post(reverse("care-symptoms", args=[treated.code]), {"sign": ["nausea"]})
    html = client.get(response["Location"]).text
    assert "Call your care team now" not in html
    assert "Ask your care team which medicine to take for fever or aches." in html
    log_in(client, treated.user)
    client.post(reverse("care-symptoms", args=[treated.code]), {"none": "on"})
    # The patient does not open the caregiver's check.
    assert client.get(response["Location"]).status_code == 404
    log_in(client, clinician)
    html = page(client, "patient-detail", treated.code).text
    assert "Symptom checks" in html and "Feeling sick (nausea)" in html and "None of the signs" in html
    assert AuditEvent.objects.filter(
        actor=clinician, action="patient.viewed", patient_code=treated.code
    ).exists()
    log_in(client, other_clinician)
    assert page(client, "patient-detail", treated.code).status_code == 404


def test_the_symptom_list_follows_the_facts():
    """Urgent: tvec-facts §6; common: §5 (most common, ≥ 25% of patients [R2, R5])."""
    urgent = {sign.key: sign.sources for sign in care.SIGNS if sign.urgent}
    assert urgent == {
        "allergy": ("R42",),
        "breathing": ("R32", "R21", "R42"),
        "herpes": ("R16",),
        "eyes": ("R16", "R1", "R3"),
        "nerves": ("R16", "R34"),
        "site": ("R4", "R33", "R34"),
        "pregnancy": ("R16", "R18"),
    }
    assert {sign.key for sign in care.SIGNS if not sign.urgent} == {"flu", "nausea", "site_pain"}
    # §6: an allergic reaction (hives, difficulty breathing, swelling of face, lips, tongue or
    # throat) needs emergency care [R42].
    assert {sign.key for sign in care.SIGNS if sign.emergency} == {"allergy", "breathing"}


def test_hard_breathing_alone_says_to_get_emergency_care(client, treated):
    log_in(client, treated.user)
    response = client.post(
        reverse("care-symptoms", args=[treated.code]), {"sign": ["breathing"]}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain, "the check was saved and its result shown"
    assert "Swelling of the face, lips, tongue or throat, or hard breathing, needs emergency care." in html


def test_the_saved_time_of_a_check_is_not_followed_by_a_second_full_stop(client, treated, clock):
    """English times end in "a.m."/"p.m.": the sentence goes on after the time instead of
    ending there with one more full stop ("9:30 a.m..")."""
    clock.now = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
    log_in(client, treated.user)
    response = client.post(reverse("care-symptoms", args=[treated.code]), {"none": "on"}, follow=True)
    html = response.content.decode()
    assert (
        "Your care team can read this check, saved on March 15, 2026, 9:30 a.m., "
        "but the app does not alert them."
    ) in html
    assert "a.m.." not in html


def test_the_patients_data_download_holds_their_symptom_checks(client, treated, caregiver):
    care.record_symptom_check(patient=treated, by=caregiver, signs=["nausea"], none=False)
    log_in(client, treated.user)
    data = client.get(reverse("account-data")).json()
    assert data["patient_record"]["symptom_checks"] == [
        {
            "at": "2026-03-15T12:00:00+00:00",
            "signs": ["nausea"],
            "call_now": False,
            "by": "caregiver@example.test",
        }
    ]


def test_the_reader_says_when_a_translation_is_not_clinically_reviewed(client, treated, clinician):
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    treated.user.language = "fr"
    treated.user.save(update_fields=["language"])
    log_in(client, treated.user)
    html = client.get(reverse("care-read", args=[treated.code, assignment.code])).text
    assert "Non vérifiée sur le plan clinique" in html
    assert '<html lang="fr"' in html


def test_only_a_report_from_the_review_day_on_keeps_the_checks_going(patient, make_visit, clock):
    """As the reminder planning reads the log: weeping on day 3 (inside the dressing days) is
    not "still weeping" on day 8; weeping and dry at the same instant reads as weeping."""
    make_visit(patient, date(2026, 3, 1), time(10, 0))
    day_three = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    care.log_dressing(patient=patient, by=patient.user, kind="weeping", now=day_three)
    clock.now = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert not care.care_day(patient).still_weeping
    same = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    care.log_dressing(patient=patient, by=patient.user, kind="dry", now=same)
    care.log_dressing(patient=patient, by=patient.user, kind="weeping", now=same)
    assert care.care_day(patient).still_weeping


def test_the_real_questions_of_a_module_are_asked_and_a_wrong_pick_explained(client, treated, clinician):
    """The content team's questions (education/content/dressing-care/teach-back/en.toml)."""
    from education import teachback

    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["dressing-care"])
    asked = teachback.questions("dressing-care", "en")
    assert 2 <= len(asked) <= 3
    log_in(client, treated.user)
    url = reverse("care-read", args=[treated.code, assignment.code])
    html = client.get(url).text
    for question in asked:
        assert f'id="q-{question.id}"' in html
    first = asked[0]
    wrong = next(choice for choice in first.choices if not choice.correct)
    client.post(
        reverse("care-answer", args=[treated.code, assignment.code]),
        {"question": first.id, "choice": wrong.id, "language": "en"},
    )
    html = client.get(url).text
    assert "Not quite." in html
    assert escape(first.correct_choice.text) in html and escape(first.explanation) in html
    assert TeachBackAnswer.objects.get().correct is False


def test_a_caregiver_who_must_not_handle_dressings_is_never_asked_about_handling_one(
    client, treated, clinician, link_caregiver
):
    from education import teachback

    pregnant = link_caregiver(
        treated, "pregnant@example.test", pregnant_or_immunocompromised=True, handles_dressings=False
    ).caregiver
    [assignment] = assign_modules(patient=treated, by=clinician, slugs=["for-caregivers"])
    every = {question.id for question in teachback.questions("for-caregivers", "en")}
    theirs = {
        question.id for question in teachback.questions("for-caregivers", "en", handles_dressings=False)
    }
    assert theirs < every  # the module has a question about handling a dressing
    log_in(client, pregnant)
    html = client.get(reverse("care-read", args=[treated.code, assignment.code])).text
    for question_id in every - theirs:
        assert f'id="q-{question_id}"' not in html
        response = client.post(
            reverse("care-answer", args=[treated.code, assignment.code]),
            {"question": question_id, "choice": "x", "language": "en"},
        )
        assert response.status_code == 302
    assert not TeachBackAnswer.objects.exists()
    for question_id in theirs:
        assert f'id="q-{question_id}"' in html
