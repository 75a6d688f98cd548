"""Several sendreminders processes on one PostgreSQL database (DESIGN.md section 4, guarantee 3):
real worker processes, a real SMTP server on loopback, and a worker killed with SIGKILL."""

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.models import Delivery, Reminder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SKIP LOCKED and concurrent worker processes need PostgreSQL; SQLite serializes writers",
    ),
]

ROOT = Path(settings.BASE_DIR)
CODE = re.compile(rb"/reminders/([0-9a-f-]{36})/")


class Sink:
    """An SMTP server that remembers which reminder each email was for."""

    def __init__(self, delay: float = 0.0) -> None:
        self.codes: Counter[bytes] = Counter()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        match = CODE.search(envelope.content)
        assert match
        self.codes[match.group(1)] += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(request):
    # aiosmtpd logs every SMTP command at INFO; thousands of emails would drown a failure.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink(delay=getattr(request, "param", 0.0))
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def due_reminders(patient, visit, count: int) -> list[Reminder]:
    due = timezone.now() - timedelta(minutes=1)
    return Reminder.objects.bulk_create(
        Reminder(
            recipient=patient.user,
            patient=patient,
            visit=visit,
            rule="dressing_check",
            audience="patient",
            day=date(2000, 1, 1) + timedelta(days=i),
            due_at=due,
            next_attempt_at=due,
        )
        for i in range(count)
    )


def start_worker(smtp: Sink, log: Path, *args: str, **env: str) -> subprocess.Popen:
    """A worker process on the test database; its output goes to ``log``."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": url,  # the test database, not the development one
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "false",
        "SITE_URL": "http://testserver",
        "LOG_LEVEL": "ERROR",
        **env,
    }
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "sendreminders", "--idle", "0.2", *args],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def stop(worker: subprocess.Popen) -> int:
    worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout=30)


def test_two_workers_deliver_each_of_2000_reminders_exactly_once(patient, make_visit, smtp, tmp_path):
    visit = make_visit(patient, date(2000, 1, 1))
    reminders = due_reminders(patient, visit, 2000)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(smtp, log, "--limit", "50") for log in logs]
    try:
        wait_until(lambda: all("started" in log.read_text() for log in logs), timeout=60)
        wait_until(lambda: not Reminder.objects.filter(status=Reminder.Status.PENDING).exists())
    finally:
        codes = [stop(worker) for worker in workers]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]  # a clean stop on SIGTERM

    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 2000
    sent = Delivery.objects.filter(status=Delivery.Status.SENT)
    assert sent.filter(channel="inbox").count() == 2000
    assert sent.filter(channel="email").count() == 2000
    # What reached the SMTP server: every reminder, once each.
    assert len(smtp.codes) == 2000
    assert set(smtp.codes.values()) == {1}
    assert {code.decode() for code in smtp.codes} == {str(r.code) for r in reminders}
    # Both processes took part.
    for log in logs:
        assert "claimed" in log.read_text()


@pytest.mark.parametrize("smtp", [0.05], indirect=True)
def test_a_killed_worker_loses_nothing(patient, make_visit, smtp, tmp_path):
    visit = make_visit(patient, date(2000, 1, 1))
    reminders = due_reminders(patient, visit, 300)
    lease = {"REMINDER_LEASE_SECONDS": "4", "REMINDER_THREADS": "4"}
    first = start_worker(smtp, tmp_path / "first.log", "--limit", "1000", **lease)
    try:
        wait_until(lambda: sum(smtp.codes.values()) >= 40, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    # Mid-batch: the dead worker's rows are still claimed, and some email never went out.
    assert Reminder.objects.filter(status=Reminder.Status.PENDING, claimed_until__isnull=False).exists()
    assert len(smtp.codes) < 300

    second = start_worker(smtp, tmp_path / "second.log", **lease)
    try:
        wait_until(lambda: "started" in (tmp_path / "second.log").read_text(), timeout=60)
        wait_until(lambda: not Reminder.objects.filter(status=Reminder.Status.PENDING).exists())
    finally:
        assert stop(second) == 0
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 300
    assert Delivery.objects.filter(channel="email", status=Delivery.Status.SENT).count() == 300
    assert {code.decode() for code in smtp.codes} == {str(r.code) for r in reminders}
    # Sends recorded before the kill are never repeated; only those in flight at the kill
    # (at most one per thread) can arrive twice, because their outcome was never written.
    assert sum(count - 1 for count in smtp.codes.values()) <= 4


@pytest.mark.parametrize("smtp", [3.0], indirect=True)
def test_a_send_longer_than_the_lease_keeps_its_claim(patient, make_visit, smtp, tmp_path):
    """One email hangs for 3 s with a 2 s lease while a second worker polls. The first worker
    renews its lease while it waits, so the second never takes the reminder over: one email."""
    visit = make_visit(patient, date(2000, 1, 1))
    [reminder] = due_reminders(patient, visit, 1)
    lease = {"REMINDER_LEASE_SECONDS": "2", "REMINDER_THREADS": "1"}
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = [start_worker(smtp, log, **lease) for log in logs]
    try:
        wait_until(lambda: all("started" in log.read_text() for log in logs), timeout=60)
        wait_until(lambda: not Reminder.objects.filter(status=Reminder.Status.PENDING).exists(), timeout=60)
    finally:
        codes = [stop(worker) for worker in workers]
    assert codes == [0, 0]
    assert dict(smtp.codes) == {str(reminder.code).encode(): 1}
    assert Delivery.objects.get(channel="email").attempts == 1


def test_a_visit_cancelled_between_claim_and_send_reaches_no_channel(
    patient, clinician, make_visit, monkeypatch
):
    """B2 with real concurrency: the worker runs in its own thread and connection; the clinic
    cancels the visit from another connection after the claim and before the send."""
    import threading

    from django.db import connections

    from portal import services
    from portal.reminders import delivery, replan_patient, send_due_reminders

    visit = make_visit(patient, date(2026, 3, 10))
    replan_patient(patient, now=timezone.now().replace(year=2026, month=3, day=1))
    reminder = Reminder.objects.get(rule="visit_reminder")
    prepared, cancelled = threading.Event(), threading.Event()
    real_prepare = delivery.prepare

    def prepare_then_wait(*args, **kwargs):
        result = real_prepare(*args, **kwargs)
        prepared.set()
        assert cancelled.wait(30)
        return result

    monkeypatch.setattr(delivery, "prepare", prepare_then_wait)
    done = {}

    def work():
        try:
            done.update(send_due_reminders(now=reminder.due_at))
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    assert prepared.wait(30)
    services.change_visit(visit=visit, by=clinician, status="cancelled")
    cancelled.set()
    worker.join(30)
    reminder.refresh_from_db()
    assert done["claimed"] == 1
    assert reminder.status == Reminder.Status.CANCELLED
    assert set(reminder.deliveries.values_list("channel", "status")) == {
        ("inbox", "skipped"),
        ("email", "skipped"),
    }
