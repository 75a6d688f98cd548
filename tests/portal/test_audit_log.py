"""The clinic's audit log: filters, actions in words, times with their zone, CSV export."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.helpers import log_in


@pytest.fixture
def admin_client(client, clinic_admin):
    log_in(client, clinic_admin)
    return client


@pytest.fixture
def events(clinic, patient, other_patient, clinician, clinic_admin):
    clinic.time_zone = "America/New_York"
    clinic.save()
    rows = [
        (datetime(2027, 1, 10, 15, 0, tzinfo=UTC), clinician, "patient.viewed", patient),
        (
            datetime(2027, 1, 11, 4, 30, tzinfo=UTC),
            clinician,
            "visit.moved",
            patient,
        ),  # 10 Jan, 23:30 in New York
        (datetime(2027, 1, 12, 9, 0, tzinfo=UTC), clinic_admin, "patient.viewed", other_patient),
    ]
    for at, actor, action, subject in rows:
        AuditEvent.objects.create(
            at=at,
            actor=actor,
            actor_email=actor.email,
            clinic=clinic,
            action=action,
            patient_code=subject.code,
        )
    return rows


def listed(response):
    return [(row["who"], row["action"], row["patient"]) for row in response.context["rows"]]


def test_actions_in_words_newest_first_with_the_zone(admin_client, clinic, events, patient):
    response = admin_client.get(reverse("clinic-audit", args=[clinic.code]))
    rows = listed(response)[:3]
    assert rows[0][1] == "Opened a patient's page"
    assert rows[1] == ("clinician@example.test", "Moved a visit", patient.name)
    text = response.content.decode()
    assert "America/New_York" in text and "Jan. 10, 2027, 11:30 p.m. EST" in text


def test_times_read_in_the_readers_language_in_the_clinics_zone(admin_client, clinic, events, clinic_admin):
    """The date with time in the reader's own format (Arabic: day, month, Arabic comma, year,
    then the time with م for p.m.), not the fixed "10 Jan 2027, 23:30" of every language."""
    clinic_admin.language = "ar"
    clinic_admin.save(update_fields=["language"])
    text = admin_client.get(reverse("clinic-audit", args=[clinic.code])).content.decode()
    assert "10 يناير، 2027، 11:30 م EST" in text
    assert "10 Jan 2027" not in text


def test_filters(admin_client, clinic, events, patient, clinician):
    url = reverse("clinic-audit", args=[clinic.code])
    assert len(listed(admin_client.get(url, {"person": clinician.email}))) == 2
    assert [r[1] for r in listed(admin_client.get(url, {"action": "visit.moved"}))] == ["Moved a visit"]
    patient.name = "Zoë Quinn"
    patient.save()
    by_name = listed(admin_client.get(url, {"patient": "ZOE"}))
    assert {r[2] for r in by_name} == {patient.name} and len(by_name) == 2
    assert len(listed(admin_client.get(url, {"patient": str(patient.code)}))) == 2
    # Dates are the clinic's: 10 January in New York ends at 05:00 UTC on the 11th.
    day = listed(admin_client.get(url, {"since": "2027-01-10", "until": "2027-01-10"}))
    assert [r[1] for r in day] == ["Moved a visit", "Opened a patient's page"]
    response = admin_client.get(url, {"since": "2027-01-12", "until": "2027-01-10"})
    assert response.context["form"].errors["until"] and listed(response) == []
    assert admin_client.get(url, {"action": "drop table"}).context["form"].errors["action"]


def test_each_action_is_offered_once_and_its_former_code_is_found_with_it(admin_client, clinic, patient):
    """Resending an invitation was audited as invitation.sent, now as patient.reinvited: the
    filter listed "Sent a new invitation" twice, one choice finding only the old rows."""
    for at, action in [
        (datetime(2026, 5, 1, tzinfo=UTC), "invitation.sent"),
        (datetime(2027, 1, 1, tzinfo=UTC), "patient.reinvited"),
    ]:
        AuditEvent.objects.create(
            at=at, actor_email="a@example.test", clinic=clinic, action=action, patient_code=patient.code
        )
    url = reverse("clinic-audit", args=[clinic.code])
    choices = admin_client.get(url).context["form"].fields["action"].choices
    labels = [str(label) for _code, label in choices]
    assert labels.count("Sent a new invitation") == 1
    assert len(labels) == len(set(labels))
    [code] = [code for code, label in choices if label == "Sent a new invitation"]
    found = admin_client.get(url, {"action": code})
    assert [row["event"].action for row in found.context["rows"]] == ["patient.reinvited", "invitation.sent"]
    assert [row["action"] for row in found.context["rows"]] == ["Sent a new invitation"] * 2


def test_a_bookmarked_former_code_finds_its_rows_under_the_current_choice(admin_client, clinic, patient):
    """A link saved with ?action=invitation.sent said "Select a valid choice" and listed nothing."""
    for at, action in [
        (datetime(2026, 5, 1, tzinfo=UTC), "invitation.sent"),
        (datetime(2027, 1, 1, tzinfo=UTC), "patient.reinvited"),
        (datetime(2027, 1, 2, tzinfo=UTC), "patient.viewed"),
    ]:
        AuditEvent.objects.create(
            at=at, actor_email="a@example.test", clinic=clinic, action=action, patient_code=patient.code
        )
    response = admin_client.get(reverse("clinic-audit", args=[clinic.code]), {"action": "invitation.sent"})
    assert response.context["form"].errors == {}
    assert [row["event"].action for row in response.context["rows"]] == [
        "patient.reinvited",
        "invitation.sent",
    ]
    assert '<option value="patient.reinvited" selected>Sent a new invitation</option>' in response.text


def test_csv_export_follows_the_filters_and_is_audited(admin_client, clinic, events, patient, clinic_admin):
    url = reverse("clinic-audit", args=[clinic.code])
    response = admin_client.get(url, {"patient": str(patient.code), "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0][:4] == ["When", "Time zone", "Person", "Action"]
    assert table[1:] == [
        [
            "2027-01-10T23:30:00-05:00",
            "America/New_York",
            "clinician@example.test",
            "Moved a visit",
            "visit.moved",
            patient.name,
            str(patient.code),
            "",
        ],
        [
            "2027-01-10T10:00:00-05:00",
            "America/New_York",
            "clinician@example.test",
            "Opened a patient's page",
            "patient.viewed",
            patient.name,
            str(patient.code),
            "",
        ],
    ]
    assert AuditEvent.objects.filter(action="audit.exported", actor=clinic_admin).exists()


def test_clinicians_do_not_read_the_audit_log(client, clinician, clinic):
    log_in(client, clinician)
    assert client.get(reverse("clinic-audit", args=[clinic.code])).status_code == 404


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("bound", [{"since": "0001-01-01"}, {"until": "9999-12-31"}])
@pytest.mark.parametrize("export", [{}, {"format": "csv"}])
def test_the_first_and_last_days_of_the_calendar_leave_nothing_out(
    admin_client, clinic, events, zone, bound, export
):
    """0001-01-01 east of UTC and the day after 9999-12-31 cannot be written as times: such
    bounds were a 500 (OverflowError); every event is inside them."""
    clinic.time_zone = zone
    clinic.save()
    url = reverse("clinic-audit", args=[clinic.code])
    response = admin_client.get(url, {**bound, **export})
    assert response.status_code == 200
    if export:
        actions = [line[4] for line in csv.reader(io.StringIO(response.content.decode()))][1:]
        assert sorted(actions) == ["audit.exported", "patient.viewed", "patient.viewed", "visit.moved"]
    else:
        assert len(listed(response)) == 3
