"""Re-planning time: one patient's settings change, and a clinic-wide reminder settings change.

    .venv/bin/python bench/replan.py [--scale 50] [--repeat 10]

On hcc_bench_replan_<scale>x (scale 50: 1,000 patients, each with an account and three visits;
made afresh by bench/data.py), through the services a clinic admin's and a patient's pages
call: `update_clinic_reminder_settings` (first change: plans every patient's reminders; second
change: moves them) and `update_patient_settings` (a new reminder time), timed with the wall
clock in one process on PostgreSQL, DEBUG off. A clinic-wide change only records the work; the
worker's part (`portal.reminders.clinics.replan_clinics`, one batch of patients per transaction,
as `sendreminders` runs it between batches of reminders) is then run here until the clinic is
done, timing each batch: the longest batch is the longest any patient row stays locked. While
it runs, a second connection keeps writing the clinic's patient rows, one after another
(lock_timeout 100 ms), to show how much of the site would be blocked meanwhile.
"""

import argparse
import statistics
import sys
import threading
import time
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def probe_blocking(database: str, clinic_code: str, stop: threading.Event, waits: list[float]) -> None:
    """What requests writing the clinic's patients meanwhile would meet: each try writes the next
    patient (striding through all of them), and a lock wait over 100 ms counts as blocked."""
    import psycopg

    with psycopg.connect(common.database_url(database), autocommit=True) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT p.id FROM portal_patient p JOIN portal_clinic c ON c.id = p.clinic_id"
                " WHERE c.code = %s ORDER BY p.id",
                [clinic_code],
            )
        ]
        conn.execute("SET lock_timeout = '100ms'")
        n = 0
        while not stop.is_set():
            n += 1
            started = time.perf_counter()
            try:
                conn.execute(
                    "UPDATE portal_patient SET name = name WHERE id = %s", [ids[(n * 97) % len(ids)]]
                )
                waits.append(time.perf_counter() - started)
            except psycopg.errors.LockNotAvailable:
                waits.append(float("inf"))
            time.sleep(0.05)


def measure(info: dict[str, Any], repeat: int, database: str) -> dict[str, Any]:
    common.setup_django()
    from portal import services
    from portal.models import Clinic, ClinicReplan, Patient, Reminder, User
    from portal.reminders.clinics import replan_clinics

    clinic = Clinic.objects.get(code=info["clinic"])
    admin = User.objects.get(email="admin@bench.example")
    result: dict[str, Any] = {"patients": clinic.patients.count()}
    for label, days in (("clinic_first", 8), ("clinic_second", 9)):
        stop, waits = threading.Event(), []
        probe = threading.Thread(target=probe_blocking, args=(database, info["clinic"], stop, waits))
        probe.start()
        started = time.perf_counter()
        services.update_clinic_reminder_settings(clinic=clinic, by=admin, dressing_days=days)
        saved = time.perf_counter() - started
        batches: list[float] = []
        replanned = 0
        while ClinicReplan.objects.filter(clinic=clinic, finished_at__isnull=True).exists():
            batch_started = time.perf_counter()
            replanned += replan_clinics()["replanned"]
            batches.append(time.perf_counter() - batch_started)
        result[f"{label}_s"] = round(time.perf_counter() - started, 2)
        stop.set()
        probe.join()
        result[f"{label}_save_ms"] = round(saved * 1000, 1)
        result[f"{label}_batches"] = {
            "count": len(batches),
            "replanned": replanned,
            "longest_ms": round(max(batches) * 1000, 1),
            "median_ms": round(statistics.median(batches) * 1000, 1),
        }
        result[f"{label}_probe"] = {
            "tries": len(waits),
            "blocked": sum(w == float("inf") for w in waits),
            "longest_wait_ms": round(max((w for w in waits if w != float("inf")), default=0) * 1000, 1),
        }
        result[f"{label}_reminders"] = Reminder.objects.filter(
            patient__clinic=clinic, status="pending"
        ).count()
    people = {
        # Six months of visits every two weeks, and a caregiver.
        "busy": Patient.objects.get(code=info["patient"]),
        # Three visits, no caregiver: most of the clinic.
        "typical": clinic.patients.exclude(code=info["patient"]).order_by("pk").first(),
    }
    for label, patient in people.items():
        times = []
        for n in range(repeat):
            started = time.perf_counter()
            services.update_patient_settings(
                patient=patient, by=patient.user, reminder_time=clock(8 + n % 3, 0)
            )
            times.append((time.perf_counter() - started) * 1000)
        result[f"{label}_patient_ms"] = [round(t, 1) for t in times]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Its own database: bench/pages.py and friends use hcc_bench_pages_*.
    database = f"hcc_bench_replan_{args.scale}x"
    if args.child:
        import json

        common.emit(measure(json.loads(args.child[0]), int(args.child[1]), database))
        return

    import json

    machine_before = common.machine()
    info = common.bench_python(
        "data.py", "pages", "--db", database, "--scale", str(args.scale), env=common.env_for(None)
    )
    env = common.env_for(database)
    result = common.bench_python(
        "replan.py", "--scale", str(args.scale), "--child", json.dumps(info), str(args.repeat), env=env
    )
    print(
        "\n| what | patients | saving the settings | re-planned by the worker (all batches) | batches | longest batch (lock held) | pending reminders after | patient writes blocked meanwhile (lock wait > 100 ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label, text in (
        ("clinic_first", "clinic settings change, first plan"),
        ("clinic_second", "clinic settings change, re-plan"),
    ):
        probe = result[f"{label}_probe"]
        batches = result[f"{label}_batches"]
        print(
            f"| {text} | {result['patients']:,} | {result[f'{label}_save_ms']} ms | {result[f'{label}_s']} s "
            f"({batches['replanned']:,} patients) | {batches['count']} | {batches['longest_ms']} ms "
            f"(median {batches['median_ms']} ms) | {result[f'{label}_reminders']:,} | "
            f"{probe['blocked']} of {probe['tries']} tries (longest wait {probe['longest_wait_ms']} ms) |"
        )
    for label, text in (("typical", "3 visits"), ("busy", "13 visits and a caregiver")):
        times = result[f"{label}_patient_ms"]
        print(
            f"| one patient's reminder time ({text}) | 1 | {min(times):.0f}–{max(times):.0f} ms "
            f"(median {statistics.median(times):.0f}) | | | | | |"
        )
    common.save(
        "replan",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "results": result,
        },
    )


if __name__ == "__main__":
    main()
