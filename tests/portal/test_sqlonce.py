"""SQL built once per process (portal/sqlonce.py) answers exactly what the ORM answers, for
every kind of reader, and never lets one reader's key into another's query."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal import queries, sqlonce
from portal.models import (
    CaregiverLink,
    Clinic,
    Delivery,
    InjectionVisit,
    Patient,
    Reminder,
    StaffMembership,
    User,
)

pytestmark = pytest.mark.django_db


def deliver(
    patient: Patient, visit: InjectionVisit, recipient: User, day: date, *, read: bool = False
) -> Reminder:
    due = timezone.now() - timedelta(days=(date(2030, 1, 1) - day).days % 30)
    reminder = Reminder.objects.create(
        recipient=recipient,
        patient=patient,
        visit=visit,
        rule="dressing_check",
        day=day,
        due_at=due,
        next_attempt_at=due,
        status=Reminder.Status.SENT,
        read_at=timezone.now() if read else None,
    )
    Delivery.objects.create(reminder=reminder, channel=Delivery.Channel.INBOX, status=Delivery.Status.SENT)
    return reminder


@pytest.fixture
def world(
    clinic: Clinic,
    other_clinic: Clinic,
    make_patient: Callable[..., Patient],
    make_visit: Callable[..., InjectionVisit],
    link_caregiver: Callable[..., CaregiverLink],
    make_staff: Callable[..., User],
) -> dict[str, object]:
    """Two clinics; a patient with reminders of their own and for their caregiver; a patient of
    the other clinic; a revoked caregiver who still holds old reminders."""
    north = make_patient(clinic, "north@example.test")
    south = make_patient(other_clinic, "south@example.test")
    carer = link_caregiver(north, "carer@example.test").caregiver
    former = link_caregiver(north, "former@example.test", CaregiverLink.Status.REVOKED).caregiver
    staff = make_staff(clinic, "staff@example.test")
    visit = make_visit(north, date(2030, 1, 1))
    south_visit = make_visit(south, date(2030, 1, 1))
    for n in range(5):
        deliver(north, visit, north.user, date(2030, 1, 2 + n), read=n < 2)
        deliver(north, visit, carer, date(2030, 1, 2 + n), read=n == 0)
        deliver(north, visit, former, date(2030, 1, 2 + n))
        deliver(south, south_visit, south.user, date(2030, 1, 2 + n))
    # Staff of the north clinic who is also a caregiver of the south patient.
    link_caregiver(south, staff.email)
    deliver(south, south_visit, staff, date(2030, 1, 9))
    StaffMembership.objects.filter(user=staff).update(role=StaffMembership.Role.ADMIN)
    return {
        "north": north,
        "south": south,
        "readers": [north.user, south.user, carer, former, staff],
    }


def test_counts_are_the_orms_for_every_reader(world: dict) -> None:
    expected_unread = {"north": 3, "south": 5, "carer": 4, "former": 0, "staff": 1}
    for reader, name in zip(world["readers"], expected_unread, strict=True):
        orm_unread = queries._inbox_rows(reader).filter(read_at__isnull=True).count()
        orm_inbox = queries._inbox_rows(reader).count()
        assert queries.count_unread_reminders_for(reader) == orm_unread == expected_unread[name], name
        assert queries.count_inbox_for(reader) == orm_inbox, name


def test_kept_sql_is_the_orms_own_with_the_readers_key(world: dict) -> None:
    kept = sqlonce.Kept(lambda user: queries.list_patients_for(user).values("pk"))
    for reader in world["readers"]:
        expected = queries.list_patients_for(reader).values("pk").query.sql_with_params()
        sql, params = kept.sql(reader)
        assert (sql, tuple(params)) == (expected[0], tuple(expected[1]))
    # Built once: the first reader's key never stays in the kept parameters.
    first, second = world["readers"][:2]
    assert first.pk in kept.sql(first)[1]
    assert first.pk not in kept.sql(second)[1]


def test_kept_sql_is_built_once() -> None:
    built = []

    def build(user: User):  # type: ignore[no-untyped-def]
        built.append(user.pk)
        return Reminder.objects.filter(recipient=user)

    kept = sqlonce.Kept(build)
    kept.sql(User(pk=1))
    kept.sql(User(pk=2))
    # Once, for the two stand-ins that must give the same query; not again.
    assert built == [sqlonce.STAND_IN_PK, sqlonce.STAND_IN_PK]


def test_a_query_without_the_reader_is_refused() -> None:
    kept = sqlonce.Kept(lambda user: Reminder.objects.all())
    with pytest.raises(ValueError):
        kept.sql(User(pk=1))


def test_access_patient_keeps_its_scope(world: dict) -> None:
    north, south = world["north"], world["south"]
    north_user, south_user, carer, former, staff = world["readers"]
    allowed = {
        (north_user, north, False),
        (north_user, north, True),
        (carer, north, False),
        (staff, north, False),
        (staff, north, True),
        (staff, south, False),  # their caregiver link
        (south_user, south, False),
        (south_user, south, True),
    }
    for reader in world["readers"]:
        for patient in (north, south):
            for manage in (False, True):
                if (reader, patient, manage) in allowed:
                    found = queries.access_patient(reader, patient.code, manage=manage)
                    assert found == patient
                    with CaptureQueriesContext(connection) as ctx:
                        assert found.clinic == patient.clinic  # fetched with the patient
                    assert len(ctx) == 0
                else:
                    with pytest.raises(Http404):
                        queries.access_patient(reader, patient.code, manage=manage)


def test_access_patient_is_one_query(world: dict) -> None:
    north_user = world["readers"][0]
    with CaptureQueriesContext(connection) as ctx:
        queries.access_patient(north_user, world["north"].code)
    assert len(ctx) == 1


def test_the_inbox_is_the_orms(world: dict) -> None:
    for reader in world["readers"]:
        orm = (
            queries._inbox_rows(reader).select_related("patient__clinic", "visit").order_by("-due_at", "-pk")
        )
        kept = queries.list_inbox_for(reader)
        assert [r.pk for r in kept] == [r.pk for r in orm]
        assert [r.pk for r in kept[2:4]] == [r.pk for r in orm[2:4]]
        for row in kept[:3]:
            with CaptureQueriesContext(connection) as ctx:
                assert (row.patient.clinic.name, row.visit.local_date) != ("", None)
            assert len(ctx) == 0
        # Narrowed further, as access_reminder does.
        for row in orm:
            assert queries.access_reminder(reader, row.code) == row
    north_user, south_user = world["readers"][:2]
    south_row = queries.list_inbox_for(south_user).first()
    with pytest.raises(Http404):
        queries.access_reminder(north_user, south_row.code)


def test_condition_is_the_orms_where(world: dict) -> None:
    kept = sqlonce.Kept(queries.list_patients_for)
    for reader in world["readers"]:
        found = set(Patient.objects.filter(kept.condition(reader)).values_list("pk", flat=True))
        assert found == set(queries.list_patients_for(reader).values_list("pk", flat=True))


def test_the_inbox_api_writes_what_drf_writes(world: dict, client) -> None:  # type: ignore[no-untyped-def]
    """The written-out ReminderOut gives DRF's own bytes (its generic walk over the fields),
    read and unread rows alike, in the reader's time zone."""
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from portal.api import ReminderOut
    from tests.helpers import log_in

    reader = world["readers"][0]
    User.objects.filter(pk=reader.pk).update(time_zone="America/New_York")
    reader.refresh_from_db()
    log_in(client, reader)
    body = client.get("/api/v1/reminders/").json()
    assert body["count"] == 5
    rows = list(queries.list_inbox_for(reader))
    timezone.activate("America/New_York")
    try:
        generic = [serializers.ModelSerializer.to_representation(ReminderOut(), row) for row in rows]
        fast = ReminderOut(rows, many=True).data
        assert JSONRenderer().render(fast) == JSONRenderer().render(generic)
    finally:
        timezone.deactivate()
    assert [item["code"] for item in body["results"]] == [str(row.code) for row in rows]
    assert [item["read_at"] is None for item in body["results"]] == [row.read_at is None for row in rows]
    assert sum(item["read_at"] is None for item in body["results"]) == 3
    assert all(item["due_at"].endswith(("-05:00", "-04:00")) for item in body["results"])


def test_a_condition_over_a_join_is_refused() -> None:
    kept = sqlonce.Kept(lambda user: Reminder.objects.filter(patient__user=user))
    with pytest.raises(ValueError, match="joins"):
        kept.condition(User(pk=1))


def test_care_patients_are_the_orms(world: dict) -> None:
    from portal import care

    for reader in world["readers"]:
        expected = list(care.list_care_patients_for(reader))
        assert care.count_care_patients_for(reader) == len(expected)
        for patient in (world["north"], world["south"]):
            if patient in expected:
                assert care.access_care_patient(reader, patient.code) == patient
            else:
                with pytest.raises(Http404):
                    care.access_care_patient(reader, patient.code)
    # The staff member cares for the south patient only; the north one is their clinic's.
    staff = world["readers"][4]
    assert care.count_care_patients_for(staff) == 1


def test_clinic_staff_is_the_orms(world: dict) -> None:
    for reader in world["readers"]:
        expected = StaffMembership.objects.filter(user=reader).exists()
        assert queries.is_clinic_staff(reader) is expected
    assert [queries.is_clinic_staff(r) for r in world["readers"]] == [False, False, False, False, True]


def test_assignments_are_the_old_querys(world: dict) -> None:
    """list_assignments_for as it was written before (a join to the patient), for each reader."""
    from django.db.models import Q

    from portal.models import Assignment

    north, south = world["north"], world["south"]
    for patient in (north, south):
        for audience in ("patient", "caregiver", "both"):
            Assignment.objects.create(patient=patient, module_slug=f"m-{audience}", audience=audience)
    Assignment.objects.create(patient=north, module_slug="gone", audience="both", withdrawn_at=timezone.now())
    for reader in world["readers"]:
        own = Q(patient__user=reader, audience__in=["patient", "both"])
        cared_for = Q(patient__in=queries.list_cared_for_patients(reader), audience__in=["caregiver", "both"])
        expected = list(
            Assignment.objects.filter(own | cared_for, withdrawn_at__isnull=True).order_by(
                "assigned_at", "id"
            )
        )
        assert list(queries.list_assignments_for(reader)) == expected
    assert len(list(queries.list_assignments_for(world["readers"][0]))) == 2  # patient, both
    assert len(list(queries.list_assignments_for(world["readers"][2]))) == 2  # caregiver, both


def test_every_kept_query_depends_on_the_readers_key_only(clock) -> None:  # type: ignore[no-untyped-def]
    """Built under two clocks (years and hours apart), in two languages, for stand-ins that
    differ in every attribute but the key: the same SQL and parameters, so nothing but the key
    is frozen in a kept query. And a kept query, once made, answers as the clock moves on."""
    from datetime import UTC, datetime

    from django.utils import translation

    import portal.care  # noqa: F401 - defines kept queries
    import portal.queries  # noqa: F401

    site = [kept for kept in sqlonce.ALL if kept.build.__module__.startswith("portal.")]
    assert len(site) >= 7
    for kept in site:
        shapes = set()
        for now in (datetime(2026, 3, 1, 0, 1, tzinfo=UTC), datetime(2031, 9, 30, 23, 59, tzinfo=UTC)):
            clock.now = now
            for language in ("en", "ar"):
                with translation.override(language):
                    for stand_in in sqlonce.stand_ins():
                        sql, params = kept.build(stand_in).query.sql_with_params()
                        shapes.add((sql, tuple(map(str, params))))
        assert len(shapes) == 1, kept.build


def test_a_query_that_depends_on_more_than_the_key_is_refused(clock) -> None:  # type: ignore[no-untyped-def]
    by_role = sqlonce.Kept(
        lambda user: Reminder.objects.filter(
            recipient=user, audience="patient" if user.is_staff else "caregiver"
        )
    )
    sqlonce.ALL.remove(by_role)
    with pytest.raises(ValueError, match="attributes"):
        by_role.count(User(pk=1))


def test_kept_counts_follow_the_clock_and_the_data(world: dict, clock) -> None:  # type: ignore[no-untyped-def]
    """Made once, then asked again after the clock moved and rows changed: the answers are
    today's, as the ORM's (nothing of the first call is kept but the SQL)."""
    north_user = world["readers"][0]
    assert queries.count_unread_reminders_for(north_user) == 3
    clock.now = clock.now.replace(year=clock.now.year + 3)
    Reminder.objects.filter(recipient=north_user, read_at__isnull=True).update(read_at=clock.now)
    assert queries.count_unread_reminders_for(north_user) == 0
    assert queries.count_inbox_for(north_user) == 5
