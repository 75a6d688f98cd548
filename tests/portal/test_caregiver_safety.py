"""A caregiver who must not handle dressings (pregnant, may become pregnant, weak immune system,
or not helping with dressings) never sees the dressing-change steps, and sees the safety
banner, wherever the patient's care is shown to them (issue 11, point 5).

Expected texts are copied from the module files and the clinical facts, not from the code."""

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from education.catalog import load_catalog
from portal import caregivers, services
from portal.models import CaregiverLink, Reminder
from portal.reminders import replan_patient, send_due_reminders
from portal.reminders.planning import Rule
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

CONTENT = Path(__file__).resolve().parents[2] / "education" / "content"
LANGUAGES = ["en", "es", "fr", "de", "it", "pt-br", "zh-hans", "ar"]
# The headings of the dressing-change sections, as the module files have them.
STEPS_EN = {
    "dressing-care": ["How to change a dressing", "If the dressing comes loose"],
    "for-caregivers": ["How to change a dressing"],
    "household-safety": ["Handle dressings safely"],
}
# Sentences of those steps (dressing-care/en.html, for-caregivers/en.html).
STEP_SENTENCES = ["Put on clean gloves.", "Gently take off the old dressing.", "Seal the bag."]
BANNER = (
    "People who are pregnant, may become pregnant, or have a weak immune system must not change dressings"
)
PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def section_ids(path: Path) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', path.read_text(encoding="utf-8"))


def heading_of(slug: str, language: str, section_id: str) -> str:
    text = (CONTENT / slug / f"{language}.html").read_text(encoding="utf-8")
    section = re.search(rf'<section id="{section_id}">\s*<h2>(.*?)</h2>', text, re.S)
    assert section, (slug, language, section_id)
    return section.group(1)


@pytest.fixture
def pregnant(patient, link_caregiver):
    link = link_caregiver(
        patient, "pregnant@example.test", handles_dressings=False, pregnant_or_immunocompromised=True
    )
    return link.caregiver


def signed_in(user) -> Client:
    client = Client()
    log_in(client, user)
    return client


# --- The marks -------------------------------------------------------------------------------


def test_every_handler_only_mark_names_a_section_of_every_language_file():
    marked = {module.slug: module.handler_only for module in load_catalog().modules if module.handler_only}
    assert marked["dressing-care"] == {"how-to-change-it", "if-it-comes-loose"}
    assert "change-a-dressing" in marked["for-caregivers"]
    for slug, ids in marked.items():
        for language in LANGUAGES:
            assert ids <= set(section_ids(CONTENT / slug / f"{language}.html")), (slug, language)


def test_a_module_that_teaches_dressing_changes_marks_it():
    # Any section whose English heading speaks of changing or handling dressings is marked.
    for module in load_catalog().modules:
        for section in module.documents["en"].sections:
            if re.fullmatch(r"How to change a dressing|Handle dressings safely", section.title):
                assert section.id in module.handler_only, (module.slug, section.id)


# --- Who may handle dressings --------------------------------------------------------------


def test_who_may_handle_dressings(patient, caregiver, pregnant, clinician, other_clinician, link_caregiver):
    helper_only = link_caregiver(patient, "no-dressings@example.test", handles_dressings=False).caregiver
    assert caregivers.may_handle_dressings(patient.user, patient)
    assert caregivers.may_handle_dressings(caregiver, patient)
    assert caregivers.may_handle_dressings(clinician, patient)
    assert not caregivers.may_handle_dressings(pregnant, patient)
    assert not caregivers.may_handle_dressings(helper_only, patient)
    assert not caregivers.may_handle_dressings(other_clinician, patient)


# --- The guide ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("slug", sorted(STEPS_EN))
def test_the_signed_in_restricted_caregiver_reads_the_guide_without_the_steps(pregnant, slug, language):
    module = load_catalog().get(slug)
    response = signed_in(pregnant).get(f"/{language}/guide/{slug}/")
    assert response.status_code == 200
    page = response.text
    for section_id in module.handler_only:
        assert f'id="{section_id}"' not in page
        heading = heading_of(slug, language, section_id)
        assert f"<h2>{heading}</h2>" not in page  # the section
        assert f">{heading}</a>" not in page  # its line in "On this page"
    assert 'class="safety-banner"' in page
    # Never kept by anyone else: private, and marked for the service worker.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["HCC-Safe-View"] == "1"


def test_the_steps_are_gone_in_english_words_too(pregnant):
    page = signed_in(pregnant).get("/en/guide/dressing-care/").text
    for sentence in STEP_SENTENCES:
        assert sentence not in page
    assert BANNER in page
    assert "Do not fix it yourself" in page
    assert "wash the area well with soap and water or a disinfectant" in page
    # The rest of the module is still there (how long, who may change it, when to call).
    assert "How long to keep it on" in page and "When to call your care team now" in page


def test_the_public_page_stays_whole_and_cacheable_after_a_restricted_read(client, pregnant):
    signed_in(pregnant).get("/en/guide/dressing-care/")
    response = client.get("/en/guide/dressing-care/")
    assert "public" in response["Cache-Control"]
    assert "HCC-Safe-View" not in response  # a visitor's page says nothing about anyone
    assert 'class="safety-banner"' not in response.text
    for sentence in STEP_SENTENCES:
        assert sentence in response.text


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_the_patient_and_a_dressing_helper_see_the_steps(who, patient, caregiver):
    user = patient.user if who == "patient" else caregiver
    page = signed_in(user).get("/en/guide/dressing-care/").text
    assert "How to change a dressing" in page and 'class="safety-banner"' not in page
    assert signed_in(user).get("/en/guide/dressing-care/")["HCC-Safe-View"] == "0"


def test_a_caregiver_who_does_not_help_with_dressings_gets_the_safe_guide(patient, link_caregiver):
    helper = link_caregiver(patient, "no-dressings@example.test", handles_dressings=False).caregiver
    page = signed_in(helper).get("/en/guide/for-caregivers/").text
    assert "Put on clean gloves." not in page and BANNER in page


def test_the_guide_list_and_the_patients_page_show_the_banner(patient, pregnant):
    client = signed_in(pregnant)
    assert BANNER in client.get("/en/guide/").text
    page = client.get(reverse("patient-detail", args=[patient.code])).text
    assert f"Do not touch the dressings of {patient.name}" in page


def test_the_offline_list_tells_the_service_worker(pregnant, caregiver):
    assert signed_in(pregnant).get(reverse("api-offline")).json()["hide_dressing_steps"] is True
    assert signed_in(caregiver).get(reverse("api-offline")).json()["hide_dressing_steps"] is False


def test_the_module_reader_helper_leaves_the_steps_out(patient, pregnant, caregiver):
    module = load_catalog().get("dressing-care")
    document = module.documents["fr"]
    safe = caregivers.document_for(module, document, user=pregnant, patient=patient)
    assert [s.id for s in safe.sections] == [
        "your-dressing",
        "how-long",
        "who-can-change-it",
        "hands-off",
        "call-now",
    ]
    assert 'id="how-to-change-it"' not in safe.body
    assert caregivers.document_for(module, document, user=caregiver, patient=patient) is document


# --- Reminders ------------------------------------------------------------------------------


def test_a_restricted_caregiver_gets_the_safety_reminder_never_a_dressing_task(patient, pregnant, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    rules = set(Reminder.objects.filter(recipient=pregnant).values_list("rule", flat=True))
    assert Rule.DRESSING_SAFETY in rules
    assert not rules & {Rule.DRESSING_CHECK, Rule.DRESSING_REVIEW}


def test_becoming_restricted_re_plans_and_old_dressing_checks_read_as_the_safety_text(
    patient, caregiver, make_visit
):
    # The role changes now (the service re-plans at the real time): the visit is two days on.
    visit_day = timezone.localdate() + timedelta(days=2)
    make_visit(patient, visit_day, time(10, 0))
    replan_patient(patient)
    send_due_reminders(now=datetime.combine(visit_day, time(12, 0), tzinfo=UTC))
    sent_check = Reminder.objects.filter(recipient=caregiver, rule=Rule.DRESSING_CHECK).exclude(
        status=Reminder.Status.PENDING
    )
    assert sent_check.exists()
    link = CaregiverLink.objects.get(caregiver=caregiver)
    services.change_caregiver_role(
        link=link,
        by=caregiver,
        handles_dressings=False,
        pregnant_or_immunocompromised=True,
        gets_reminders=True,
    )
    pending = Reminder.objects.filter(recipient=caregiver, status=Reminder.Status.PENDING)
    assert not pending.filter(rule__in=[Rule.DRESSING_CHECK, Rule.DRESSING_REVIEW]).exists()

    client = signed_in(caregiver)
    reminder = sent_check.first()
    page = client.get(reverse("reminder-detail", args=[reminder.code])).text
    assert "Please do not handle the dressings" in page
    assert "replace it straight away" not in page
    assert "Check the dressings today" not in client.get(reverse("reminder-list")).text
    # The app's inbox API says the same as the page, listed and when marked read.
    listed = {row["code"]: row for row in client.get("/api/v1/reminders/").json()["results"]}
    assert listed[str(reminder.code)]["rule"] == "dressing_safety"
    assert "Check the dressings today" not in {row["title"] for row in listed.values()}
    read = client.post(f"/api/v1/reminders/{reminder.code}/read/").json()
    assert read["rule"] == "dressing_safety" and read["title"] != "Check the dressings today"
    response = client.post(reverse("reminder-dressing-report", args=[reminder.code]), {"kind": "dry"})
    assert response.status_code == 404


def test_the_banner_and_the_invitation_read_at_grade_6_or_below(patient, pregnant):
    from django.template.loader import render_to_string

    from education.readability import reading_grade

    banner = render_to_string(
        "portal/includes/caregiver_safety.html",
        {"caregiver_safety": caregivers.safety_banner(pregnant, patient)},
    )
    banner = banner.split("<details", 1)[0]  # the source titles are references, not patient text
    assert 0 < reading_grade(banner) <= 6
    link = CaregiverLink.objects.get(caregiver=pregnant)
    what = render_to_string("portal/caregivers/_what_you_see.html", {"link": link})
    assert 0 < reading_grade(what) <= 6


def test_the_banner_cites_the_facts_behind_it(patient, pregnant):
    # tvec-facts.md: who must not handle dressings R20, R21, R22, R3; accidental exposure R3,
    # R20; herpes signs R16.
    banner = caregivers.safety_banner(pregnant, patient)
    assert banner is not None
    assert [source.id for source in banner.sources] == ["R3", "R16", "R20", "R21", "R22"]
    assert caregivers.safety_banner(patient.user, patient) is None


def test_the_care_context_gives_both_includes_what_they_need(
    rf, patient, pregnant, other_patient, link_caregiver
):
    link_caregiver(other_patient, pregnant.email, handles_dressings=False, pregnant_or_immunocompromised=True)
    request = rf.get("/")
    request.user = pregnant
    request.session = {}
    context = caregivers.care_context(request, patient)
    assert context["caregiver_safety"].patient_name == patient.name
    assert {p.pk for p in context["switcher"].choices} == {patient.pk, other_patient.pk}
    request.user = patient.user
    assert caregivers.care_context(request, patient) == {"caregiver_safety": None, "switcher": None}


# --- The care pages (/care/): the module reader and the banner ---------------------------------


@pytest.mark.parametrize("slug", ["for-caregivers", "dressing-care"])
def test_the_module_reader_leaves_the_steps_out_for_the_restricted_caregiver(
    slug, patient, pregnant, caregiver, clinician
):
    from portal import assignments
    from portal.models import Assignment

    assignments.assign_modules(patient=patient, by=clinician, slugs=[slug])
    found = Assignment.objects.get(patient=patient, module_slug=slug)
    url = reverse("care-read", args=[patient.code, found.code])
    page = signed_in(pregnant).get(url).text
    for section_id in load_catalog().get(slug).handler_only:
        assert f'id="{section_id}"' not in page
    assert "Put on clean gloves." not in page
    assert BANNER in page
    # A caregiver who helps with dressings reads the whole module, without the banner.
    whole = signed_in(caregiver).get(url).text
    assert "Put on clean gloves." in whole and BANNER not in whole


def test_every_care_page_shows_the_banner_to_the_restricted_caregiver_only(patient, pregnant):
    for name in ("care-today", "care-plan"):
        url = reverse(name, args=[patient.code])
        assert f"Do not touch the dressings of {patient.name}" in signed_in(pregnant).get(url).text
        assert 'class="safety-banner"' not in signed_in(patient.user).get(url).text
