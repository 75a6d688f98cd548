"""Personas and factories shared by every test.

The people: a patient and another patient at the same clinic; a caregiver with an
active link and one whose link was revoked; a clinician and an admin of the clinic;
a clinician of another clinic; and the anonymous visitor."""

import importlib
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from portal.models import (
    CaregiverLink,
    Clinic,
    InjectionVisit,
    Patient,
    StaffMembership,
    TreatmentCourse,
    User,
)

# Playwright's sync API runs an event loop in this thread; the ORM must still work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


pytest_plugins = ["tests.browser", "tests.processes"]


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only: a stray request to the outside world fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("/")
        ):
            raise OSError(f"Tests may not connect to {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


class Clock:
    """The time every ``timezone.now()`` call sees; tests move it by setting ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fixed clock for code that reads it itself (services re-plan at ``timezone.now()``), so no
    test depends on today's date: 1 March 2026, 12:00 UTC unless a test moves it."""
    fixed = Clock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed


def commits_for_real(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)))
    )


@pytest.fixture(autouse=True)
def fresh_guide_pages() -> None:
    """Each test starts with no guide page kept in memory (education/pagecache.py): the
    rolled-back reviews of an earlier test bump no stamp."""
    from education import pagecache

    pagecache.forget_all()


@pytest.fixture(autouse=True)
def no_kept_pages() -> None:
    """Each test starts with no signed-in page kept in memory (portal/keep.py)."""
    from portal import keep

    keep.forget()


@pytest.fixture(autouse=True)
def clean_slate_after_commits(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """After a test that commits, pytest-django flushes the tables. Two things it misses:

    - the shared cache's table is no model's, so rate limits and used codes would carry over
      to the next test: it is cleared here;
    - on SQLite the flush is a DELETE, which the audit log's append-only trigger refuses
      (PostgreSQL flushes with TRUNCATE, which it allows): so this flushes first, with the
      triggers lifted for the flush only. This teardown runs before pytest-django's, which
      then finds the tables empty."""
    yield
    if not commits_for_real(request):
        return
    with django_db_blocker.unblock():
        cache.clear()
        if connection.vendor != "sqlite":
            return
        guards = importlib.import_module("portal.migrations.0006_database_guards")
        with connection.cursor() as cursor:
            for statement in guards.SQLITE_REVERSE:
                cursor.execute(statement)
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
        with connection.cursor() as cursor:
            for statement in guards.SQLITE:
                cursor.execute(statement)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(email: str, *, password: str | None = None, **extra: Any) -> User:
        user = User.objects.create_user(email, password, **extra)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def make_clinic(db: None) -> Callable[..., Clinic]:
    def make(name: str = "North Clinic", **extra: Any) -> Clinic:
        values = {"phone_daytime": "+1 555 0100", "phone_after_hours": "+1 555 0199", "time_zone": "UTC"}
        return Clinic.objects.create(name=name, **{**values, **extra})

    return make


@pytest.fixture
def make_staff(make_user: Callable[..., User]) -> Callable[..., User]:
    def make(
        clinic: Clinic, email: str, role: str = StaffMembership.Role.CLINICIAN, totp: bool = True
    ) -> User:
        user = make_user(email, password="correct horse battery")
        StaffMembership.objects.create(clinic=clinic, user=user, role=role)
        if totp:
            TOTP.activate(user, generate_totp_secret())
        return user

    return make


@pytest.fixture
def make_patient(make_user: Callable[..., User]) -> Callable[..., Patient]:
    def make(clinic: Clinic, email: str, *, account: bool = True, **extra: Any) -> Patient:
        user = make_user(email) if account else None
        values = {"name": email.split("@")[0].title(), "time_zone": "UTC"}
        return Patient.objects.create(clinic=clinic, user=user, email=email, **{**values, **extra})

    return make


@pytest.fixture
def make_visit() -> Callable[..., InjectionVisit]:
    def make(
        patient: Patient, local_date: date, local_time: time = time(10, 0), **extra: Any
    ) -> InjectionVisit:
        course = patient.courses.first() or TreatmentCourse.objects.create(
            patient=patient, started_on=local_date
        )
        return InjectionVisit.objects.create(
            course=course, patient=patient, local_date=local_date, local_time=local_time, **extra
        )

    return make


@pytest.fixture
def link_caregiver(make_user: Callable[..., User]) -> Callable[..., CaregiverLink]:
    def link(
        patient: Patient, email: str, status: str = CaregiverLink.Status.ACTIVE, **extra: Any
    ) -> CaregiverLink:
        user = User.objects.filter(email=email).first() or make_user(email)
        return CaregiverLink.objects.create(
            patient=patient,
            caregiver=user,
            email=email,
            status=status,
            consented_at=timezone.now(),
            revoked_at=timezone.now() if status == CaregiverLink.Status.REVOKED else None,
            **extra,
        )

    return link


@pytest.fixture
def clinic(make_clinic: Callable[..., Clinic]) -> Clinic:
    return make_clinic("North Clinic")


@pytest.fixture
def other_clinic(make_clinic: Callable[..., Clinic]) -> Clinic:
    return make_clinic("South Clinic")


@pytest.fixture
def patient(clinic: Clinic, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(clinic, "patient@example.test")


@pytest.fixture
def other_patient(clinic: Clinic, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(clinic, "other.patient@example.test")


@pytest.fixture
def caregiver(patient: Patient, link_caregiver: Callable[..., CaregiverLink]) -> User:
    return link_caregiver(patient, "caregiver@example.test").caregiver


@pytest.fixture
def revoked_caregiver(patient: Patient, link_caregiver: Callable[..., CaregiverLink]) -> User:
    return link_caregiver(patient, "former.caregiver@example.test", CaregiverLink.Status.REVOKED).caregiver


@pytest.fixture
def clinician(clinic: Clinic, make_staff: Callable[..., User]) -> User:
    return make_staff(clinic, "clinician@example.test")


@pytest.fixture
def clinic_admin(clinic: Clinic, make_staff: Callable[..., User]) -> User:
    return make_staff(clinic, "admin@example.test", StaffMembership.Role.ADMIN)


@pytest.fixture
def other_clinician(other_clinic: Clinic, make_staff: Callable[..., User]) -> User:
    return make_staff(other_clinic, "clinician@south.example.test")


@pytest.fixture(scope="session")
def live_server(django_db_setup: None, live_server: Any) -> Any:
    """pytest-django's live server, started only once the test database exists: started
    before it, the server's threads do not share the in-memory SQLite database and leave
    their own connections open (warnings, then errors, in whichever browser test runs first)."""
    return live_server
