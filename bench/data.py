"""Bench data sets: made with bulk_create, the same every time (fixed names, codes and dates
relative to the day of the run), each in its own database named hcc_bench_*.

    .venv/bin/python bench/data.py pages --db hcc_bench_pages_50x --scale 50
    .venv/bin/python bench/data.py rush --db hcc_bench_rush_tpl --count 100000
    .venv/bin/python bench/data.py population --db hcc_bench_explain --count 100000

`pages`: one clinic with 20 x scale patients (each with an account and three visits), a demo-like
patient with a caregiver and 20 x scale delivered reminders in the inbox, and a clinic admin.
`rush`: count patients, each with one pending reminder (due far in the future until
`data.py due` makes them all due at once) and one push subscription on the local push endpoint.
`population`: count patients with per-patient delivered reminders, caregivers and staff, and
one reader with a long history (default 1,000), for EXPLAIN.

Each command recreates the database, migrates it, fills it through the models (never the
reminder worker's internals), and prints one JSON line last: sign-in cookies, codes, counts.
The other subcommands (`due`, `rush-report`, `session`) work on an existing database.
"""

import argparse
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ZONE = "America/New_York"
LANGUAGES = ["en", "es", "fr", "de", "it", "pt-br", "zh-hans", "ar"]
PATIENT_RULES = ["dressing_check", "symptom_watch", "dressing_review", "visit_reminder"]
NAMESPACE = uuid.UUID("6f1c2a6e-0b3e-4d6c-9a57-1b2c3d4e5f60")
BATCH = 5000
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
# The bench clinic admin's authenticator secret (base32): bench data only.
STAFF_TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH23"


def code(kind: str, number: int | str = 0) -> uuid.UUID:
    """Stable public codes, so URLs are the same in every run."""
    return uuid.uuid5(NAMESPACE, f"{kind}-{number}")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def push_keys() -> tuple[str, str]:
    """One fixed browser key pair for every bench subscription (p256dh, auth)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(0x5EED_0F_BE4C_4000_0001, ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64u(point), b64u(bytes(range(16)))


def treatment_dates(today: date) -> list[date]:
    """Like the demo: first treatment 23 days ago, the second 2 days ago, then every 2 weeks."""
    first = today - timedelta(days=23)
    dates = [first, first + timedelta(days=21)]
    while dates[-1] + timedelta(days=14) <= first + timedelta(days=182):
        dates.append(dates[-1] + timedelta(days=14))
    return dates


def totp(secret: str) -> str:
    """The code an authenticator app shows now (RFC 6238: SHA-1, 30 s, 6 digits)."""
    digest = hmac.new(
        base64.b32decode(secret), int(clock.time() // 30).to_bytes(8, "big"), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def session_cookie(user: Any, *, totp_secret: str | None = None) -> str:
    """A signed-in session for the user, the way the test client's force_login makes one.
    Staff then enter their authenticator's code, as the site asks them to before any
    private page (allauth's reauthentication form)."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(user)
    if totp_secret:
        for _attempt in range(2):
            response = client.post(reverse("mfa_reauthenticate"), {"code": totp(totp_secret)})
            if response.status_code == 302:
                break
            # A code is accepted once: wait for the authenticator's next one.
            clock.sleep(30 - clock.time() % 30 + 1)
        else:
            raise SystemExit(f"The bench admin could not pass the authenticator: {response.status_code}")
    # And the CSRF cookie a browser holds from its first page with a form: without it, every
    # page would set one, as it does for a browser's very first request only.
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}"


def local_today() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(ZONE)).date()


def at_local(day: date, hour: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


# --- pages -------------------------------------------------------------------------------------


def make_pages(scale: int) -> dict[str, Any]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from portal.models import (
        CaregiverLink,
        Clinic,
        Delivery,
        InjectionVisit,
        Patient,
        Reminder,
        StaffMembership,
        TreatmentCourse,
        User,
    )

    today = local_today()
    count = 20 * scale
    clinic = Clinic.objects.create(
        code=code("clinic"),
        name="Bench Clinic",
        phone_daytime="+1 555 0100",
        phone_after_hours="+1 555 0199",
        time_zone=ZONE,
    )

    def person(email: str, name: str) -> User:
        user = User.objects.create_user(email, None, name=name, time_zone=ZONE)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    admin = person("admin@bench.example", "Alex Admin")
    StaffMembership.objects.create(clinic=clinic, user=admin, role=StaffMembership.Role.ADMIN)
    # Staff see patient pages only once they have an authenticator (portal.middleware).
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": STAFF_TOTP_SECRET})

    me = person("patient@bench.example", "Pat Patient")
    patient = Patient.objects.create(
        code=code("patient", "me"), clinic=clinic, user=me, name=me.name, email=me.email, time_zone=ZONE
    )
    course = TreatmentCourse.objects.create(patient=patient, started_on=treatment_dates(today)[0])
    visits = InjectionVisit.objects.bulk_create(
        InjectionVisit(
            code=code("visit-me", n),
            course=course,
            # Visits name their patient too (a database trigger checks it matches the course).
            patient=patient,
            local_date=day,
            local_time=time(10),
            status=InjectionVisit.Status.DONE if day <= today else InjectionVisit.Status.SCHEDULED,
            sites=["left forearm", "left upper arm"][: 1 + min(n, 1)],
        )
        for n, day in enumerate(treatment_dates(today))
    )
    carer = person("caregiver@bench.example", "Casey Caregiver")
    now = datetime.now(UTC)
    CaregiverLink.objects.create(
        code=code("link"),
        patient=patient,
        caregiver=carer,
        email=carer.email,
        name=carer.name,
        status=CaregiverLink.Status.ACTIVE,
        consented_at=now,
        consent_recorded_by=me,
        activated_at=now,
    )

    # The rest of the clinic's patients: accounts, a course and three visits each.
    others = User.objects.bulk_create(
        (
            User(email=f"p{n:06d}@bench.example", name=f"Patient {n:06d}", time_zone=ZONE, password="!")
            for n in range(1, count)
        ),
        batch_size=BATCH,
    )
    patients = Patient.objects.bulk_create(
        (
            Patient(
                code=code("patient", n),
                clinic=clinic,
                user=user,
                name=user.name,
                email=user.email,
                language=LANGUAGES[n % len(LANGUAGES)],
                time_zone=ZONE,
            )
            for n, user in enumerate(others, start=1)
        ),
        batch_size=BATCH,
    )
    courses = TreatmentCourse.objects.bulk_create(
        (TreatmentCourse(patient=p, started_on=today - timedelta(days=2)) for p in patients), batch_size=BATCH
    )
    InjectionVisit.objects.bulk_create(
        (
            InjectionVisit(
                course=c,
                patient_id=c.patient_id,
                local_date=today + timedelta(days=offset),
                local_time=time(10),
                status=InjectionVisit.Status.DONE if offset < 0 else InjectionVisit.Status.SCHEDULED,
                sites=["left forearm"],
            )
            for c in courses
            for offset in (-2, 12, 26)
        ),
        batch_size=BATCH,
    )

    # The patient's inbox: delivered reminders, one a day going back.
    reminders = Reminder.objects.bulk_create(
        (
            Reminder(
                code=code("reminder", n),
                recipient=me,
                patient=patient,
                visit=visits[0],
                rule=PATIENT_RULES[n % len(PATIENT_RULES)],
                audience="patient",
                day=today - timedelta(days=n + 1),
                due_at=at_local(today - timedelta(days=n + 1), 9),
                next_attempt_at=at_local(today - timedelta(days=n + 1), 9),
                status=Reminder.Status.SENT,
                finished_at=at_local(today - timedelta(days=n + 1), 9),
            )
            for n in range(count)
        ),
        batch_size=BATCH,
    )
    Delivery.objects.bulk_create(
        (
            Delivery(
                reminder=r,
                channel=Delivery.Channel.INBOX,
                status=Delivery.Status.SENT,
                attempts=1,
                sent_at=r.due_at,
            )
            for r in reminders
        ),
        batch_size=BATCH,
    )
    return {
        "scale": scale,
        "patients": count,
        "inbox": count,
        "clinic": str(clinic.code),
        "patient": str(patient.code),
        "reminder": str(reminders[0].code),
        "cookies": {
            "patient": session_cookie(me),
            "caregiver": session_cookie(carer),
            "admin": session_cookie(admin, totp_secret=STAFF_TOTP_SECRET),
        },
    }


# --- rush and population -------------------------------------------------------------------------


def make_people(count: int, *, clinics: int = 10) -> tuple[list[Any], list[Any], list[Any]]:
    """count patients with accounts (push on, email off) and one treatment visit today."""
    from portal.models import Clinic, InjectionVisit, Patient, TreatmentCourse, User

    today = local_today()
    clinic_rows = Clinic.objects.bulk_create(
        Clinic(
            code=code("clinic", n),
            name=f"Clinic {n}",
            phone_daytime="+1 555 0100",
            phone_after_hours="+1 555 0199",
            time_zone=ZONE,
        )
        for n in range(clinics)
    )
    users = User.objects.bulk_create(
        (
            User(
                email=f"r{n:07d}@bench.example",
                name=f"Person {n:07d}",
                language=LANGUAGES[n % len(LANGUAGES)],
                time_zone=ZONE,
                password="!",
                reminders_by_email=False,
                reminders_by_push=True,
            )
            for n in range(count)
        ),
        batch_size=BATCH,
    )
    patients = Patient.objects.bulk_create(
        (
            Patient(
                code=code("rush-patient", n),
                clinic=clinic_rows[n % clinics],
                user=user,
                name=user.name,
                email=user.email,
                language=user.language,
                time_zone=ZONE,
                # Every fourth patient turned discreet mode off: their previews carry the text.
                discreet=n % 4 != 0,
            )
            for n, user in enumerate(users)
        ),
        batch_size=BATCH,
    )
    courses = TreatmentCourse.objects.bulk_create(
        (TreatmentCourse(patient=p, started_on=today) for p in patients), batch_size=BATCH
    )
    visits = InjectionVisit.objects.bulk_create(
        (
            InjectionVisit(
                course=c,
                patient_id=c.patient_id,
                local_date=today,
                local_time=time(10),
                status="done",
                sites=["left forearm"],
            )
            for c in courses
        ),
        batch_size=BATCH,
    )
    return users, patients, visits


def make_rush(count: int, push_port: int) -> dict[str, Any]:
    from portal.models import PushSubscription, Reminder

    users, patients, visits = make_people(count)
    today = local_today()
    Reminder.objects.bulk_create(
        (
            Reminder(
                code=code("rush", n),
                recipient=user,
                patient=patient,
                visit=visit,
                rule=PATIENT_RULES[n % len(PATIENT_RULES)],
                audience="patient",
                day=today,
                # Not due until `data.py due` sets the start of the rush.
                due_at=FAR_FUTURE,
                next_attempt_at=FAR_FUTURE,
            )
            for n, (user, patient, visit) in enumerate(zip(users, patients, visits, strict=True))
        ),
        batch_size=BATCH,
    )
    p256dh, auth = push_keys()
    PushSubscription.objects.bulk_create(
        (
            PushSubscription(
                code=code("push", n),
                user=user,
                endpoint=f"http://127.0.0.1:{push_port}/push/{n}",
                p256dh=p256dh,
                auth=auth,
            )
            for n, user in enumerate(users)
        ),
        batch_size=BATCH,
    )
    return {"reminders": count, "push_subscriptions": count}


def make_population(count: int, per_patient: int, reader_history: int) -> dict[str, Any]:
    """A whole system: count patients with per_patient delivered reminders each, a caregiver
    (with an active link) for every third patient, five staff per clinic, and one reader in the
    middle whose inbox holds reader_history reminders."""
    from portal.models import CaregiverLink, Delivery, Reminder, StaffMembership, User

    users, patients, visits = make_people(count)
    today = local_today()
    now = datetime.now(UTC)
    staff = User.objects.bulk_create(
        User(email=f"staff{n:03d}@bench.example", time_zone=ZONE, password="!") for n in range(50)
    )
    StaffMembership.objects.bulk_create(
        StaffMembership(clinic=patients[n].clinic, user=user) for n, user in enumerate(staff)
    )
    carers = User.objects.bulk_create(
        (User(email=f"c{n:07d}@bench.example", time_zone=ZONE, password="!") for n in range(0, count, 3)),
        batch_size=BATCH,
    )
    CaregiverLink.objects.bulk_create(
        (
            CaregiverLink(
                patient=patients[3 * k], caregiver=carer, email=carer.email, status="active", consented_at=now
            )
            for k, carer in enumerate(carers)
        ),
        batch_size=BATCH,
    )
    reader = count // 2
    for start in range(0, count, BATCH):
        reminders = Reminder.objects.bulk_create(
            Reminder(
                code=code(f"pop-{k}", n),
                recipient=users[n],
                patient=patients[n],
                visit=visits[n],
                rule=PATIENT_RULES[k % len(PATIENT_RULES)],
                audience="patient",
                day=today - timedelta(days=k + 1),
                due_at=at_local(today - timedelta(days=k + 1), 9),
                next_attempt_at=at_local(today - timedelta(days=k + 1), 9),
                status=Reminder.Status.SENT,
                finished_at=at_local(today - timedelta(days=k + 1), 9),
            )
            for n in range(start, min(start + BATCH, count))
            for k in range(reader_history if n == reader else per_patient)
        )
        Delivery.objects.bulk_create(
            Delivery(reminder=r, channel="inbox", status="sent", attempts=1, sent_at=r.due_at)
            for r in reminders
        )
    return {
        "patients": count,
        "caregiver_links": len(carers),
        "reminders": (count - 1) * per_patient + reader_history,
        "reader_inbox": reader_history,
        "reader": users[reader].email,
        "cookie": session_cookie(users[reader]),
    }


# --- operations on an existing database -------------------------------------------------------


def make_due() -> dict[str, Any]:
    """Every pending reminder falls due now: the morning rush starts."""
    from portal.models import Reminder

    now = datetime.now(UTC)
    updated = Reminder.objects.filter(status=Reminder.Status.PENDING).update(due_at=now, next_attempt_at=now)
    return {"due_at": now.isoformat(), "reminders": updated}


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rush_report(deadline_seconds: float, since: datetime | None = None) -> dict[str, Any]:
    """What the workers did: statuses, duplicates, lateness of every delivery after due.
    With ``since``, only reminders due from then on count (the soak's trickle)."""
    from django.db.models import Count

    from portal.models import Delivery, Reminder

    reminders = Reminder.objects.filter(due_at__gte=since) if since else Reminder.objects.all()
    deliveries = Delivery.objects.filter(reminder__in=reminders)
    statuses = dict(reminders.values_list("status").annotate(n=Count("pk")).order_by())
    duplicates = (
        deliveries.values("reminder", "channel", "device").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    report: dict[str, Any] = {"reminders": statuses, "duplicate_deliveries": duplicates, "channels": {}}
    rows = deliveries.values_list("channel", "status", "sent_at", "reminder__due_at")
    lateness: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    first = last = None
    for channel, status, sent_at, due_at in rows.iterator(chunk_size=10000):
        if status != Delivery.Status.SENT:
            failed[channel] = failed.get(channel, 0) + 1
            continue
        lateness.setdefault(channel, []).append((sent_at - due_at).total_seconds())
        first = min(first or sent_at, sent_at)
        last = max(last or sent_at, sent_at)
    for channel, values in lateness.items():
        report["channels"][channel] = {
            "sent": len(values),
            "failed": failed.get(channel, 0),
            "within_deadline": sum(v <= deadline_seconds for v in values) / len(values),
            "p50_s": percentile(values, 0.5),
            "p99_s": percentile(values, 0.99),
            "p999_s": percentile(values, 0.999),
            "max_s": max(values),
        }
    # A reminder counts as delivered when its last channel delivered.
    finished = list(reminders.filter(status=Reminder.Status.SENT).values_list("finished_at", "due_at"))
    done = [(f - d).total_seconds() for f, d in finished if f and d]
    report["reminders_finished"] = {
        "count": len(done),
        "within_deadline": (sum(v <= deadline_seconds for v in done) / len(done)) if done else None,
        "p99_s": percentile(done, 0.99),
        "max_s": max(done) if done else None,
    }
    report["first_sent"], report["last_sent"] = first, last
    return report


def make_trickle(count: int, seconds: float, push_port: int) -> dict[str, Any]:
    """Reminders for the patients of a `pages` data set, falling due one after another over the
    next ``seconds``: the worker's share of the soak. Each patient gets a push subscription on
    the local push endpoint, and email off."""
    from portal.models import InjectionVisit, Patient, PushSubscription, Reminder, User

    patients = list(
        Patient.objects.filter(user__isnull=False).exclude(code=code("patient", "me")).order_by("pk")
    )
    User.objects.filter(patient__in=patients).update(reminders_by_email=False, reminders_by_push=True)
    p256dh, auth = push_keys()
    PushSubscription.objects.bulk_create(
        (
            PushSubscription(
                user_id=p.user_id,
                endpoint=f"http://127.0.0.1:{push_port}/push/soak-{p.pk}",
                p256dh=p256dh,
                auth=auth,
            )
            for p in patients
        ),
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    visits = dict(
        InjectionVisit.objects.filter(course__patient__in=patients, status="done").values_list(
            "course__patient", "pk"
        )
    )
    start = datetime.now(UTC) + timedelta(seconds=5)
    today = local_today()
    rows = []
    for n in range(count):
        patient = patients[n % len(patients)]
        due = start + timedelta(seconds=seconds * n / count)
        rows.append(
            Reminder(
                recipient_id=patient.user_id,
                patient=patient,
                visit_id=visits[patient.pk],
                rule=PATIENT_RULES[(n // len(patients)) % len(PATIENT_RULES)],
                audience="patient",
                # One row per (recipient, visit, rule, day): a day per round over the patients.
                day=today + timedelta(days=100 + n // (len(patients) * len(PATIENT_RULES))),
                due_at=due,
                next_attempt_at=due,
            )
        )
    Reminder.objects.bulk_create(rows, batch_size=BATCH)
    return {"reminders": count, "first_due": start.isoformat(), "patients": len(patients)}


def one_session(email: str) -> dict[str, Any]:
    from portal.models import User

    return {"cookie": session_cookie(User.objects.get(email=email))}


# --- command line ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "kind", choices=["pages", "rush", "population", "due", "trickle", "rush-report", "session"]
    )
    parser.add_argument("--db", help="PostgreSQL database (hcc_bench_*)")
    parser.add_argument("--sqlite", type=Path, help="a folder for an SQLite database instead")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--per-patient", type=int, default=3)
    parser.add_argument("--reader-history", type=int, default=1000, help="population: the reader's inbox")
    parser.add_argument("--push-port", type=int, default=common.PUSH_PORT)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--email", default="")
    parser.add_argument("--seconds", type=float, default=600, help="trickle: spread over this long")
    parser.add_argument(
        "--since", type=datetime.fromisoformat, help="rush-report: reminders due from then on"
    )
    args = parser.parse_args()
    if bool(args.db) == bool(args.sqlite):
        parser.error("give one of --db or --sqlite")

    env = common.env_for(args.db, sqlite_dir=args.sqlite)
    if args.kind in ("pages", "rush", "population"):
        if args.db:
            common.recreate_database(args.db)
        else:
            args.sqlite.mkdir(parents=True, exist_ok=True)
            (args.sqlite / "db.sqlite3").unlink(missing_ok=True)
        subprocess.run(
            [common.PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=common.ROOT, env=env, check=True
        )
    os.environ.update(env)
    common.setup_django()
    from django.db import transaction

    with transaction.atomic():
        if args.kind == "pages":
            result = make_pages(args.scale)
        elif args.kind == "rush":
            result = make_rush(args.count, args.push_port)
        elif args.kind == "population":
            result = make_population(args.count, args.per_patient, args.reader_history)
        elif args.kind == "due":
            result = make_due()
        elif args.kind == "trickle":
            result = make_trickle(args.count, args.seconds, args.push_port)
        elif args.kind == "session":
            result = one_session(args.email)
        else:
            result = rush_report(args.deadline, args.since)
    if args.db and args.kind in ("pages", "rush", "population"):
        # As autovacuum would have done by the morning the rows were planned for: planner
        # statistics and the visibility map, made once here and copied with the template,
        # instead of whenever autovacuum comes by (a run before and a run after it differ).
        common.psql("VACUUM (ANALYZE)", args.db)
    common.emit(result)


if __name__ == "__main__":
    main()
