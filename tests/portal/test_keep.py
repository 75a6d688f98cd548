"""Signed-in pages kept whole (portal/keep.py): sent again from memory only to the same
session, and never once anything on them changed, whoever or whatever changed it."""

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from portal.models import (
    AuditEvent,
    CaregiverLink,
    Clinic,
    DataVersion,
    InjectionVisit,
    Patient,
    Reminder,
    User,
)
from tests.helpers import log_in
from tests.portal.test_sqlonce import deliver

# Real commits: the version moves as a writer commits (on PostgreSQL), and pages are kept
# only outside a transaction, so a test wrapped in one would keep nothing.
pytestmark = pytest.mark.django_db(transaction=True)

# Written here, not taken from portal/keep.py: the tables whose writes may move no version.
LEFT_OUT = {"portal_dataversion", "django_session", "portal_auditevent", "portal_cache"}


def version() -> int:
    return DataVersion.objects.get(pk=1).n


def tables_with_trigger() -> set[str]:
    """Tables with the trigger (PostgreSQL), or all three, for insert, update and delete (SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'hcc_data_version' AND t.tgdeferrable AND t.tginitdeferred"
            )
            return {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'hcc_data_version%'"
        )
        rows = [row[0] for row in cursor.fetchall()]
    return {table for table in rows if rows.count(table) == 3}


def test_every_table_but_four_moves_the_version() -> None:
    tables = set(connection.introspection.table_names())
    assert {"portal_reminder", "portal_caregiverlink", "portal_user", "mfa_authenticator"} <= tables
    assert tables_with_trigger() == tables - LEFT_OUT


def test_every_kind_of_write_moves_it_and_a_rolled_back_one_does_not(patient: Patient) -> None:
    start = version()
    Patient.objects.filter(pk=patient.pk).update(name="Ana B")  # a bulk update: no signals
    after_update = version()
    assert after_update > start
    with connection.cursor() as cursor:  # not even Django
        cursor.execute("UPDATE portal_patient SET name = %s WHERE id = %s", ["Ana C", patient.pk])
    assert version() > after_update
    before = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(name="Never")
        raise RuntimeError
    assert version() == before
    Patient.objects.filter(pk=-1).update(name="Nobody")  # a statement that changed no row
    AuditEvent.objects.create(action="patient.viewed", patient_code=patient.code)
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now())
    assert version() == before


def test_a_transaction_moves_it_as_it_commits(patient: Patient, other_patient: Patient) -> None:
    before = version()
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(name="Ana B")
        Patient.objects.filter(pk=other_patient.pk).update(name="Ben B")
        if connection.vendor == "postgresql":
            assert version() == before  # at commit, once
    assert version() > before
    if connection.vendor == "postgresql":
        assert version() == before + 1


def test_two_writers_each_waiting_for_the_others_row_do_not_deadlock_on_the_version(
    patient: Patient, other_patient: Patient
) -> None:
    """One writer holds patient A and wants B; the other holds B and then writes. Had the
    version's row been locked at a writer's first write, the first would hold it while
    waiting for B, and the second would wait for it while holding B: a deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    from django.db import connections

    holds_b = threading.Event()
    wrote_a = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                Patient.objects.filter(pk=patient.pk).update(name="A1")  # a write: holds A
                wrote_a.set()
                holds_b.wait(10)
                Patient.objects.filter(pk=other_patient.pk).update(name="B1")  # waits for B
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            with transaction.atomic():
                list(Patient.objects.select_for_update().filter(pk=other_patient.pk))  # holds B
                holds_b.set()
                wrote_a.wait(10)
                Patient.objects.filter(pk=other_patient.pk).update(name="B2")  # a write of its own
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Patient.objects.get(pk=other_patient.pk).name == "B1"  # the first waited, then wrote


@pytest.fixture
def inbox(
    patient: Patient, make_visit: Callable[..., InjectionVisit], client: Client
) -> Callable[[], tuple[bytes, int]]:
    """The patient's inbox with three reminders; each call asks for it once and answers its
    bytes and the number of queries it took."""
    visit = make_visit(patient, date(2030, 1, 1))
    for n in range(3):
        deliver(patient, visit, patient.user, date(2030, 1, 2 + n))
    log_in(client, patient.user)
    client.get("/reminders/")  # as a browser's first page: it sets the CSRF cookie

    def ask() -> tuple[bytes, int]:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.get("/reminders/")
        assert response.status_code == 200
        return response.content, len(queries)

    return ask


def test_the_same_page_is_sent_again_with_one_query(inbox: Callable[[], tuple[bytes, int]]) -> None:
    first, built = inbox()
    again, queries = inbox()
    assert again == first
    assert built > 3 and queries == 1


def test_a_new_reminder_a_read_mark_and_a_raw_write_show_at_once(
    inbox: Callable[[], tuple[bytes, int]], patient: Patient
) -> None:
    body, _ = inbox()
    assert body.count(b'class="unread"') == 3
    deliver(patient, InjectionVisit.objects.get(), patient.user, date(2030, 1, 9))
    body, _ = inbox()
    assert body.count(b'class="unread"') == 4
    inbox()  # kept again
    Reminder.objects.filter(recipient=patient.user).update(read_at=timezone.now())  # the worker's way
    body, _ = inbox()
    assert body.count(b'class="unread"') == 0 and body.count(b'class="read"') == 4


def test_the_clock_moving_on_makes_it_again(inbox: Callable[[], tuple[bytes, int]], clock) -> None:  # type: ignore[no-untyped-def]
    inbox()
    clock.now += timedelta(seconds=29)
    assert inbox()[1] == 1
    clock.now += timedelta(seconds=2)
    assert inbox()[1] > 1
    clock.now -= timedelta(hours=1)  # a clock set back never gets a page made "later"
    assert inbox()[1] > 1


def test_another_session_of_the_same_person_gets_its_own_page(
    inbox: Callable[[], tuple[bytes, int]], patient: Patient
) -> None:
    from django.test.utils import CaptureQueriesContext

    inbox()
    phone = Client()
    log_in(phone, patient.user)
    made = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert phone.get("/reminders/").status_code == 200
        made.append(len(queries) > 1)
    # Made for this session (the first session's page carries that session's CSRF token):
    # its first page, the one that set its CSRF cookie; then kept for it.
    assert made == [True, True, False]


def test_an_expired_session_is_never_answered_from_memory(
    inbox: Callable[[], tuple[bytes, int]], client: Client
) -> None:
    inbox()
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/reminders/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_signing_out_elsewhere_ends_the_kept_page(
    inbox: Callable[[], tuple[bytes, int]], client: Client
) -> None:
    inbox()
    Session.objects.all().delete()  # "sign out everywhere"
    response = client.get("/reminders/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_revoked_caregiver_loses_the_page_at_once(
    patient: Patient, link_caregiver: Callable[..., CaregiverLink], client: Client
) -> None:
    link = link_caregiver(patient, "carer@example.test")
    log_in(client, link.caregiver)
    page = f"/care/{patient.code}/"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200
    CaregiverLink.objects.filter(pk=link.pk).update(status=CaregiverLink.Status.REVOKED)
    assert client.get(page).status_code == 404


def test_another_reader_never_gets_the_kept_page(
    patient: Patient, other_patient: Patient, client: Client
) -> None:
    log_in(client, patient.user)
    page = f"/patients/{patient.code}/"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200
    stranger = Client()
    log_in(stranger, other_patient.user)
    assert stranger.get(page).status_code == 404


def test_a_message_is_shown_once_and_such_a_page_is_not_kept(
    inbox: Callable[[], tuple[bytes, int]], client: Client
) -> None:
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    inbox()
    inbox()  # kept
    client.cookies["messages"] = CookieStorage(HttpRequest())._encode(
        [Message(constants.SUCCESS, "Saved for you.")]
    )
    assert b"Saved for you." in client.get("/reminders/").content
    assert b"Saved for you." not in client.get("/reminders/").content


def test_a_page_is_kept_as_sent_compressed_or_not(
    inbox: Callable[[], tuple[bytes, int]], client: Client
) -> None:
    import gzip

    plain, _ = inbox()
    sent = [client.get("/reminders/", HTTP_ACCEPT_ENCODING="gzip") for _ in range(3)]
    assert [response["Content-Encoding"] for response in sent] == ["gzip"] * 3
    assert sent[1].content == sent[2].content  # kept compressed
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')  # masked afresh when made
    assert token.sub(b"", gzip.decompress(sent[2].content)) == token.sub(b"", plain)
    etag = sent[2]["ETag"]
    assert etag.startswith('W/"')  # gzip's, of the plain page
    assert client.get("/reminders/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert "Content-Encoding" not in client.get("/reminders/")  # a reader without gzip
    assert inbox()[0] == plain


def test_a_kept_page_answers_if_none_match(inbox: Callable[[], tuple[bytes, int]], client: Client) -> None:
    inbox()
    etag = client.get("/reminders/")["ETag"]
    response = client.get("/reminders/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b""


def test_a_kept_staff_page_is_audited_every_time(
    clinic: Clinic,
    patient: Patient,
    clinician: User,
    client: Client,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    from django.test.utils import CaptureQueriesContext

    log_in(client, clinician)
    page = f"/patients/{patient.code}/"
    made = []
    for n in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert (
                client.get(page, HTTP_USER_AGENT=f"Phone {n}", REMOTE_ADDR=f"10.0.0.{n}").status_code == 200
            )
        made.append(len(queries))
    assert made[2] == 1  # kept: one INSERT checks the version and session and audits
    events = list(AuditEvent.objects.filter(action="patient.viewed").order_by("at"))
    assert [(e.actor_id, e.actor_email, e.clinic_id, e.patient_code) for e in events] == [
        (clinician.pk, clinician.email, clinic.pk, patient.code)
    ] * 3
    assert [e.user_agent for e in events] == ["Phone 0", "Phone 1", "Phone 2"]
    assert [e.ip for e in events] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert events[0].at < events[1].at < events[2].at


@pytest.fixture
def staff_page(patient: Patient, clinician: User, client: Client) -> str:
    """A patient's page a clinician has viewed three times: kept since the second view (the
    first after signing in moves the staff session's timer), the third sent from memory."""
    log_in(client, clinician)
    page = f"/patients/{patient.code}/"
    for _ in range(3):
        assert client.get(page).status_code == 200
    return page


def test_a_kept_staff_page_shows_a_change_at_once_and_audits_that_view_once(
    patient: Patient, staff_page: str, client: Client
) -> None:
    page = staff_page
    Patient.objects.filter(pk=patient.pk).update(name="Ana Changed")
    assert b"Ana Changed" in client.get(page).content
    # Four views, four rows: the kept page's check that failed wrote none of its own.
    assert AuditEvent.objects.filter(action="patient.viewed").count() == 4


def test_a_kept_staff_page_signed_out_elsewhere_goes_to_sign_in_and_audits_nothing(
    staff_page: str, client: Client
) -> None:
    Session.objects.all().delete()
    response = client.get(staff_page)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert AuditEvent.objects.filter(action="patient.viewed").count() == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_the_repeat_audit_row_does_not_wait_for_the_disk_and_leaves_the_connection_as_it_was(
    patient: Patient, staff_page: str, client: Client
) -> None:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(staff_page)
    assert [q["sql"].split(";")[0] for q in queries.captured_queries] == [
        "SET LOCAL synchronous_commit TO OFF"
    ]
    assert AuditEvent.objects.filter(action="patient.viewed").count() == 4
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    # The first view of a page is written the usual way, waiting for the disk.
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/patients/{patient.code}/?first=1")
    assert not any("synchronous_commit" in q["sql"] for q in queries.captured_queries)


def test_a_staff_page_is_not_kept_past_the_end_of_the_staff_session(
    patient: Patient,
    clinician: User,
    client: Client,
    clock,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Kept for a day, but a staff session lasts two minutes in all (its row lives on: the
    # idle time, 15 minutes, is not up).
    settings.READER_PAGE_KEEP_SECONDS = 24 * 3600
    settings.STAFF_SESSION_MAX_SECONDS = 120
    start = time.time()
    clock.now = datetime.fromtimestamp(start, tz=UTC)
    log_in(client, clinician)
    page = f"/patients/{patient.code}/"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200
    later = start + 121
    monkeypatch.setattr(time, "time", lambda: later)
    clock.now = datetime.fromtimestamp(later, tz=UTC)
    response = client.get(page)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
