"""What the service worker keeps for a reader (issue 11, point 8): the offline list from the
API, the header that names who is signed in, and a worker that installs only what the
reader's language needs (issue 13, point 2)."""

import json
import re

import pytest
from django.urls import reverse

from portal import assignments, pwa
from tests.helpers import log_in

pytestmark = pytest.mark.django_db


def test_the_offline_list_names_the_reader_their_modules_and_their_care_teams_numbers(
    client, patient, clinician
):
    assignments.assign_modules(patient=patient, by=clinician, slugs=["when-to-call", "side-effects"])
    # A module for caregivers only is not the patient's to read.
    assignments.assign_modules(patient=patient, by=clinician, slugs=["for-caregivers"])
    patient.user.language = "es"
    patient.user.save(update_fields=["language"])
    log_in(client, patient.user)
    response = client.get(reverse("api-offline"))
    assert response.status_code == 200
    data = response.json()
    assert data["reader"] == pwa.reader_tag(patient.user)
    assert data["language"] == "es"
    # In reading order (module.toml: side effects 6, when to call 7).
    assert data["modules"] == [
        {"slug": "side-effects", "url": "/es/guide/side-effects/"},
        {"slug": "when-to-call", "url": "/es/guide/when-to-call/"},
    ]
    assert data["phones"] == [
        {"clinic": "North Clinic", "daytime": "+1 555 0100", "after_hours": "+1 555 0199"}
    ]
    assert data["until"]  # the sign-in's end: the device drops the list then
    assert "no-store" in response["Cache-Control"]


def test_a_caregiver_gets_the_numbers_of_the_patients_clinic_and_staff_get_none(
    client, caregiver, clinician, make_clinic, make_patient, link_caregiver
):
    elsewhere = make_patient(
        make_clinic("East Clinic", phone_daytime="+44 20 7946 0000"), "east@example.test"
    )
    link_caregiver(elsewhere, caregiver.email)
    log_in(client, caregiver)
    assert client.get(reverse("api-offline")).json()["modules"] == []
    assert [p["clinic"] for p in client.get(reverse("api-offline")).json()["phones"]] == [
        "East Clinic",
        "North Clinic",
    ]
    log_in(client, clinician)
    assert client.get(reverse("api-offline")).json()["phones"] == []


def test_nobody_signed_in_gets_no_list(client, db):
    assert client.get(reverse("api-offline")).status_code == 403


def test_pages_name_the_signed_in_reader_and_only_them(client, patient, caregiver):
    assert pwa.READER_HEADER not in client.get("/en/guide/")
    log_in(client, patient.user)
    tag = client.get(reverse("account"))[pwa.READER_HEADER]
    assert tag == pwa.reader_tag(patient.user)
    assert re.fullmatch(r"[0-9a-f]{20}", tag)
    assert str(patient.user.code) not in tag
    log_in(client, caregiver)
    assert client.get("/en/guide/")[pwa.READER_HEADER] == pwa.reader_tag(caregiver) != tag


def test_the_worker_installs_only_a_few_static_files(client, db):
    body = client.get("/sw.js").content.decode()
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", body).group(1))
    assert config["precache"] == [
        "static/css/site.css",
        "static/js/sw-register.js",
        "static/js/language-menu.js",
        "static/js/offline.js",
    ]
    assert config["readerApi"] == "api/v1/offline/"
    # Its comments stay in the template: the phone downloads code only.
    assert "{#" not in body and "//" not in body.replace("://", "")
