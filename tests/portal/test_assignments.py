"""Assigning education and seeing who read it: care plans, per-reader progress, teach-back."""

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal import assignments
from portal.models import Assignment, AssignmentProgress, AuditEvent, CarePlan
from portal.queries import list_assignments_for
from tests.helpers import log_in

# The nine modules as their files say (education/content/*/module.toml), in reading order.
ALL_MODULES = [
    "about-your-treatment",
    "treatment-schedule",
    "dressing-care",
    "household-safety",
    "dos-and-donts",
    "side-effects",
    "when-to-call",
    "for-caregivers",
    "medicines-and-pregnancy",
]
PATIENT_READS = [slug for slug in ALL_MODULES if slug != "for-caregivers"]
CAREGIVER_READS = [
    "about-your-treatment",
    "dressing-care",
    "household-safety",
    "dos-and-donts",
    "when-to-call",
    "for-caregivers",
]
CONTENT = Path(__file__).parents[2] / "education" / "content"
NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def nurse(client, clinician):
    log_in(client, clinician)
    return client


def test_the_default_care_plan_reaches_the_patient_and_caregivers_by_audience(
    nurse, patient, caregiver, revoked_caregiver
):
    page = nurse.get(reverse("patient-assignments", args=[patient.code]))
    plan = CarePlan.objects.get(clinic=patient.clinic, is_default=True)
    assert [item.module_slug for item in plan.items.all()] == ALL_MODULES
    response = nurse.post(
        reverse("patient-assignments", args=[patient.code]), {"action": "plan", "care_plan": str(plan.code)}
    )
    assert response.status_code == 302
    assert page.status_code == 200
    assert sorted(a.module_slug for a in list_assignments_for(patient.user)) == sorted(PATIENT_READS)
    assert sorted(a.module_slug for a in list_assignments_for(caregiver)) == sorted(CAREGIVER_READS)
    assert list(list_assignments_for(revoked_caregiver)) == []
    assert AuditEvent.objects.filter(action="assignments.created", patient_code=patient.code).count() == 1
    # Assigning the plan again adds nothing.
    nurse.post(
        reverse("patient-assignments", args=[patient.code]), {"action": "plan", "care_plan": str(plan.code)}
    )
    assert Assignment.objects.filter(patient=patient).count() == len(ALL_MODULES)


def test_assign_one_by_one_and_refuse_unknown_modules(nurse, patient):
    url = reverse("patient-assignments", args=[patient.code])
    response = nurse.post(url, {"modules": ["dressing-care", "../../etc/passwd"]}, follow=True)
    assert "There is no module called ../../etc/passwd." in response.content.decode()
    assert not Assignment.objects.exists()
    nurse.post(url, {"modules": ["dressing-care", "when-to-call"]})
    assert sorted(Assignment.objects.values_list("module_slug", flat=True)) == [
        "dressing-care",
        "when-to-call",
    ]
    response = nurse.post(url, {"action": "plan", "care_plan": "not-a-plan"}, follow=True)
    assert "Choose one of the care plans in the list." in response.content.decode()


def test_progress_moves_forward_with_times_versions_and_who(patient, caregiver, clinician):
    assigned = assignments.assign_modules(
        patient=patient, by=clinician, slugs=["dressing-care", "side-effects"]
    )
    dressing = next(a for a in assigned if a.module_slug == "dressing-care")
    opened = assignments.record_progress(
        assignment=dressing, reader=patient.user, state="opened", language="es", now=NOW
    )
    version = tomllib.loads((CONTENT / "dressing-care" / "module.toml").read_text())["version"]
    assert (opened.state, opened.opened_at, opened.module_version, opened.language) == (
        "opened",
        NOW,
        version,
        "es",
    )
    later = NOW + timedelta(minutes=5)
    acknowledged = assignments.record_progress(
        assignment=dressing, reader=patient.user, state="acknowledged", language="es", now=later
    )
    # Skipping "finished" still records when the end was reached.
    assert (acknowledged.state, acknowledged.finished_at, acknowledged.acknowledged_at) == (
        "acknowledged",
        later,
        later,
    )
    again = assignments.record_progress(
        assignment=dressing, reader=patient.user, state="opened", language="es", now=later + timedelta(days=1)
    )
    assert again.state == "acknowledged" and again.opened_at == NOW
    # Caregivers read dressing care too, each with their own progress.
    assignments.record_progress(assignment=dressing, reader=caregiver, state="opened", language="en", now=NOW)
    assert AssignmentProgress.objects.filter(assignment=dressing).count() == 2
    # Side effects is written for the patient only.
    side_effects = next(a for a in assigned if a.module_slug == "side-effects")
    with pytest.raises(PermissionDenied):
        assignments.record_progress(assignment=side_effects, reader=caregiver, state="opened", language="en")
    with pytest.raises(PermissionDenied):
        assignments.record_progress(assignment=side_effects, reader=clinician, state="opened", language="en")
    with pytest.raises(ValueError):
        assignments.record_progress(assignment=side_effects, reader=patient.user, state="read", language="en")


def test_the_clinic_sees_who_has_read_what(nurse, patient, caregiver, clinician):
    assigned = assignments.assign_modules(
        patient=patient, by=clinician, slugs=["dressing-care", "when-to-call"]
    )
    dressing = next(a for a in assigned if a.module_slug == "dressing-care")
    progress = assignments.record_progress(
        assignment=dressing, reader=patient.user, state="acknowledged", language="en", now=NOW
    )
    assignments.record_teach_back(
        progress=progress, question_id="loose-dressing", answer="b", correct=False, now=NOW
    )
    assignments.record_teach_back(
        progress=progress,
        question_id="loose-dressing",
        answer="a",
        correct=True,
        now=NOW + timedelta(minutes=1),
    )
    assignments.record_teach_back(progress=progress, question_id="gloves", answer="c", correct=False, now=NOW)
    response = nurse.get(reverse("patient-assignments", args=[patient.code]))
    text = response.content.decode()
    rows = {row["assignment"].module_slug: row["readers"] for row in response.context["rows"]}
    patient_line, caregiver_line = rows["dressing-care"]
    assert patient_line.is_patient and patient_line.progress.state == "acknowledged"
    assert (patient_line.correct, patient_line.answered) == (1, 2)
    assert caregiver_line.reader == caregiver and caregiver_line.progress is None
    assert "teach-back: 1 of 2 right" in text
    assert "Not opened yet" in text
    assert AuditEvent.objects.filter(action="assignments.viewed", patient_code=patient.code).exists()


def test_withdrawn_assignments_disappear_for_readers(nurse, patient, clinician):
    (assignment,) = assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    nurse.post(reverse("assignment-withdraw", args=[assignment.code]))
    assert list(list_assignments_for(patient.user)) == []
    # It can be assigned again.
    assert assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])


def test_clinic_admins_keep_care_plans(client, clinic_admin, clinic):
    log_in(client, clinic_admin)
    client.get(reverse("care-plan-list", args=[clinic.code]))
    default = CarePlan.objects.get(clinic=clinic, is_default=True)
    add = reverse("care-plan-add", args=[clinic.code])
    response = client.post(add, {"name": "  ", "modules": ["dressing-care"]})
    assert "Give the care plan a name." in response.content.decode()
    response = client.post(add, {"name": default.name.upper(), "modules": ["dressing-care"]})
    assert "already has a care plan with this name" in response.content.decode()
    response = client.post(
        add, {"name": "Caregivers first", "modules": ["for-caregivers", "dressing-care"], "is_default": "on"}
    )
    assert response.status_code == 302
    plan = CarePlan.objects.get(name="Caregivers first")
    # Reading order, whatever order the boxes came in.
    assert list(plan.items.values_list("module_slug", flat=True)) == ["dressing-care", "for-caregivers"]
    default.refresh_from_db()
    assert plan.is_default and not default.is_default
    client.post(reverse("care-plan-delete", args=[default.code]))
    assert not CarePlan.objects.filter(pk=default.pk).exists()
    client.post(reverse("care-plan-delete", args=[plan.code]))
    assert CarePlan.objects.filter(pk=plan.pk).exists()


def test_clinicians_do_not_edit_care_plans(nurse, clinic):
    assert nurse.get(reverse("care-plan-list", args=[clinic.code])).status_code == 404
