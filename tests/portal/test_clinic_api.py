"""The clinic API: per-clinic keys, scope, rate limit, audit, errors in words, and a clinic
system that enrols, plans, assigns and reads progress through the schema alone."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from portal import assignments
from portal.api_keys import create_api_key, key_hash, revoke_api_key
from portal.models import AuditEvent, ClinicApiKey, InjectionVisit, Patient


@pytest.fixture(autouse=True)
def fresh_rate_limits(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def write_key(clinic, clinic_admin) -> str:
    return create_api_key(clinic=clinic, by=clinic_admin, name="EHR interface", scope="write").key


@pytest.fixture
def read_key(clinic, clinic_admin) -> str:
    return create_api_key(clinic=clinic, by=clinic_admin, name="Reports", scope="read").key


def api(key: str | None) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"} if key else {})


def test_keys_are_stored_hashed_and_work_until_revoked(clinic, clinic_admin, patient):
    new = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="read")
    row = ClinicApiKey.objects.get()
    assert new.key.startswith("hcc_") and len(new.key) > 40
    assert new.key not in (row.secret_hash, row.prefix) and row.secret_hash == key_hash(new.key)
    assert not row.user.is_active and not row.user.has_usable_password()
    response = api(new.key).get("/api/v1/patients/")
    assert response.status_code == 200
    assert [p["email"] for p in response.json()["results"]] == ["patient@example.test"]
    assert api(new.key[:-1] + "x").get("/api/v1/patients/").status_code == 401
    assert api(None).get("/api/v1/patients/").status_code == 401
    assert Client(headers={"Authorization": "Token abc"}).get("/api/v1/patients/").json() == {
        "detail": "Send the API key as: Authorization: Bearer <key>."
    }
    revoke_api_key(api_key=row, by=clinic_admin)
    assert api(new.key).get("/api/v1/patients/").status_code == 401
    assert list(
        AuditEvent.objects.filter(clinic=clinic).values_list("action", flat=True).order_by("at", "id")
    ) == [
        "api_key.created",
        "patients.listed",
        "api_key.revoked",
    ]


def test_a_read_key_cannot_change_anything(read_key):
    response = api(read_key).post(
        "/api/v1/patients/",
        {"name": "A", "email": "a@example.test", "language": "en", "time_zone": "UTC"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Patient.objects.filter(email="a@example.test").exists()


def test_requests_are_limited_per_key(settings, write_key, read_key):
    settings.CLINIC_API_RATE = "3/minute"
    client = api(write_key)
    assert [client.get("/api/v1/modules/").status_code for _ in range(4)] == [200, 200, 200, 429]
    # Another key has its own allowance.
    assert api(read_key).get("/api/v1/modules/").status_code == 200


def test_api_reads_and_changes_are_audited_under_the_keys_name(write_key, patient):
    client = api(write_key)
    client.get(f"/api/v1/patients/{patient.code}/")
    client.get(f"/api/v1/patients/{patient.code}/assignments/")
    client.get(f"/api/v1/patients/{patient.code}/reminders/")
    events = AuditEvent.objects.filter(patient_code=patient.code).select_related("actor")
    assert [e.action for e in events.order_by("at", "id")] == [
        "patient.viewed",
        "assignments.viewed",
        "patient.reminders_viewed",
    ]
    assert {e.actor.name for e in events} == {"API key: EHR interface"}


def test_validation_errors_name_the_field_and_the_reason(write_key, patient, clinician):
    client = api(write_key)
    response = client.post(
        "/api/v1/patients/",
        {"name": "", "email": "not-an-email", "language": "xx", "time_zone": "US/Nowhere"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"name", "email", "language", "time_zone"}
    response = client.post(
        "/api/v1/patients/",
        {"name": "Copy", "email": patient.email.upper(), "language": "en", "time_zone": "UTC"},
        content_type="application/json",
    )
    assert response.json() == {"email": ["This person is already enrolled at this clinic."]}
    response = client.post(
        "/api/v1/patients/",
        {"name": "Nurse", "email": clinician.email, "language": "en", "time_zone": "UTC"},
        content_type="application/json",
    )
    assert response.json() == {
        "email": ["This email address belongs to clinic staff. The patient needs their own address."]
    }
    response = client.post(
        f"/api/v1/patients/{patient.code}/courses/",
        {"visits": [{"local_date": "9999-12-31", "local_time": "25:00"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["visits"]["0"]) == {"local_date", "local_time"}  # row 0
    response = client.post(
        f"/api/v1/patients/{patient.code}/assignments/",
        {"modules": ["wound-care"]},
        content_type="application/json",
    )
    assert response.json() == {"modules": ["There is no module called wound-care."]}


def test_warnings_need_confirmation(write_key, patient):
    client = api(write_key)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    body = {"visits": [{"local_date": yesterday, "local_time": "10:00", "sites": []}]}
    response = client.post(f"/api/v1/patients/{patient.code}/courses/", body, content_type="application/json")
    assert response.status_code == 400
    assert [w["kind"] for w in response.json()["warnings"]] == ["past"]
    assert "confirm_warnings" in response.json()
    response = client.post(
        f"/api/v1/patients/{patient.code}/courses/",
        body | {"confirm_warnings": True},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert InjectionVisit.objects.filter(course__patient=patient).count() == 1


# --- A clinic system that knows only the schema ----------------------------------------------


class SchemaClient:
    """Finds each operation by its operationId in /api/schema/ and calls it: no URL is
    written in this test."""

    def __init__(self, key: str) -> None:
        self.http = api(key)
        schema = self.http.get("/api/schema/", {"format": "json"}).json()
        self.operations = {
            operation["operationId"]: (method, path, operation)
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        }

    def __call__(
        self, operation_id: str, body: Any = None, query: dict[str, Any] | None = None, **path: Any
    ) -> Any:
        method, template, operation = self.operations[operation_id]
        url = template.format(**path)
        if method == "get":
            response = self.http.get(url, query or {})
        else:
            response = getattr(self.http, method)(url, body or {}, content_type="application/json")
        documented = set(operation["responses"])
        assert str(response.status_code) in documented, (operation_id, response.status_code, response.content)
        return response.json() if response.content else None


def test_a_clinic_system_does_the_nurses_job_through_the_schema_alone(
    write_key, clinic, make_user, link_caregiver, clock
):
    # 08:00 on the day of the first visit: a 10:00 visit that day is still to come, yet it can
    # be marked done below (a visit can be from its day on). On the real clock this failed
    # whenever the tests ran after 10:00 UTC.
    clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    call = SchemaClient(write_key)
    patient = call(
        "patients_create",
        {"name": "María Núñez", "email": "maria@example.test", "language": "es", "time_zone": "UTC"},
    )
    assert patient["status"] == "invited"
    # The first visit is today: it is marked done below, which a visit to come cannot be.
    proposal = call(
        "courses_propose",
        query={"first_date": "2026-03-02", "first_time": "10:00", "count": 13},
        code=patient["code"],
    )
    # Weeks 0, 3 and 5 (the label: 3 weeks, then every 2 [R1, R4, R10]), counted by hand.
    assert [v["local_date"] for v in proposal["visits"]][:3] == ["2026-03-02", "2026-03-23", "2026-04-06"]
    assert proposal["warnings"] == []
    visits = [v | {"sites": ["left forearm"]} for v in proposal["visits"]]
    planned = call("courses_plan", {"visits": visits}, code=patient["code"])
    assert len(planned["course"]["visits"]) == 13
    plans = call("care_plans_list")
    default = next(plan for plan in plans if plan["is_default"])
    assigned = call("assignments_create", {"care_plan": default["code"]}, code=patient["code"])
    assert len(assigned) == len(default["modules"])

    # The patient accepts and reads (the patient app records it through the same service).
    record = Patient.objects.get(code=patient["code"])
    record.user = make_user("maria@example.test")
    record.save()
    link_caregiver(record, "carer@example.test")
    dressing = record.assignments.get(module_slug="dressing-care")
    assignments.record_progress(assignment=dressing, reader=record.user, state="acknowledged", language="es")
    progress = {a["module"]: a["progress"] for a in call("assignments_list", code=patient["code"])}
    patient_line, caregiver_line = progress["dressing-care"]
    assert (patient_line["reader"], patient_line["state"], patient_line["language"]) == (
        "patient",
        "acknowledged",
        "es",
    )
    assert (caregiver_line["reader"], caregiver_line["state"]) == ("caregiver", "assigned")
    assert patient_line["questions_at"] is None  # "I have questions" was not pressed
    assert [line["reader"] for line in progress["side-effects"]] == ["patient"]

    visit = planned["course"]["visits"][0]
    done = call("visits_complete", {"sites": ["left forearm", "left upper arm"]}, code=visit["code"])
    assert done["course"]["visits"][0]["status"] == "done"
    assert done["planned_reminders"], "what will now be sent"
    assert call("reminders_list", code=patient["code"])["count"] >= 1


def test_every_operation_has_an_example_and_errors_are_documented(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    missing = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            bodies = [operation.get("requestBody", {})] + list(operation["responses"].values())
            has_example = any(
                "examples" in media or "example" in media
                for body in bodies
                for media in body.get("content", {}).values()
            )
            if not has_example:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
