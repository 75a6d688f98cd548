"""The morning rush: N reminders due at the same moment, delivered by 1, 2 and 4
`manage.py sendreminders` processes on PostgreSQL and by one on SQLite.

    .venv/bin/python bench/rush.py [--count 100000] [--workers 1 2 4] [--no-sqlite]

Each recipient has the in-app inbox and one push subscription on bench/pushserver.py, which
answers 201 after 100 ms (email is off). The data set is made once per count as a template
(bench/data.py rush) and copied for every configuration, so each starts from the same rows.
The workers start first and wait, idle (as in production); the rush starts when `data.py due`
makes every reminder due now; it ends when no reminder is pending, or with --until inbox when
every inbox copy is out (or at --timeout). Reported: throughput (reminders delivered per second from due to
the last send), the share of deliveries sent within 60 s of due (target 99.9 %), p50/p99/max
lateness, and a check that nothing was lost or doubled: every reminder sent, one delivery row
per (reminder, channel, device), and every push subscription POSTed exactly once.
"""

import argparse
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TEMPLATE = "hcc_bench_rush_tpl"
TARGET = "hcc_bench_rush"
SQLITE_TEMPLATE = common.VAR / "rush-sqlite-tpl"
SQLITE_TARGET = common.VAR / "rush-sqlite"


def progress(database: str | None) -> tuple[int, int]:
    """Reminders still pending (a reminder stays pending until its push is out too), and inbox
    copies delivered."""
    queries = (
        "SELECT count(*) FROM portal_reminder WHERE status = 'pending'",
        "SELECT count(*) FROM portal_delivery WHERE channel = 'inbox' AND status = 'sent'",
    )
    if database:
        import psycopg

        with psycopg.connect(common.database_url(database)) as conn:
            found = [conn.execute(q).fetchone()[0] for q in queries]
    else:
        with sqlite3.connect(SQLITE_TARGET / "db.sqlite3", timeout=30) as conn:
            found = [conn.execute(q).fetchone()[0] for q in queries]
    return found[0], found[1]


def push_stats(path: str = "/stats") -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{common.PUSH_PORT}{path}", timeout=30) as response:
        return json.loads(response.read())


def template_version() -> str:
    """The migrations the templates were made with, and the push stand-in's port their
    subscriptions name: other migrations or another BENCH_PORT_BASE, other templates (else
    every push of the rush goes to a port nobody listens on)."""
    files = sorted(common.ROOT.glob("*/migrations/0*.py"))
    schema = hashlib.sha256(
        "".join(f"{f.relative_to(common.ROOT)}:{f.stat().st_size}" for f in files).encode()
    ).hexdigest()[:12]
    # "analyzed": templates made before data.py ran VACUUM (ANALYZE) are made again.
    return f"{schema}:{common.PUSH_PORT}:analyzed"


def make_templates(count: int, sqlite: bool, force: bool) -> None:
    marker = common.VAR / "rush-template.json"
    made = json.loads(marker.read_text()) if marker.exists() else {}
    version = template_version()
    if made.get("schema") != version:
        made = {"schema": version}
    parent_env = common.env_for(None)
    if force or made.get("postgresql") != count:
        print(f"Making the PostgreSQL template with {count:,} reminders…", file=sys.stderr)
        started = time.monotonic()
        common.bench_python("data.py", "rush", "--db", TEMPLATE, "--count", str(count), env=parent_env)
        made["postgresql"], made["postgresql_seconds"] = count, round(time.monotonic() - started, 1)
    if sqlite and (force or made.get("sqlite") != count):
        print(f"Making the SQLite template with {count:,} reminders…", file=sys.stderr)
        started = time.monotonic()
        common.bench_python(
            "data.py", "rush", "--sqlite", str(SQLITE_TEMPLATE), "--count", str(count), env=parent_env
        )
        made["sqlite"], made["sqlite_seconds"] = count, round(time.monotonic() - started, 1)
    common.VAR.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(made))


def recreate_target() -> None:
    """A fresh copy of the template (common.drop_database waits out autovacuum on the old one)."""
    common.recreate_database(TARGET, template=TEMPLATE)


def run_one(
    engine: str,
    workers: int,
    count: int,
    timeout: float,
    deadline: float,
    until: str = "all",
    push_pid: int = 0,
    profile: bool = False,
) -> dict[str, Any]:
    if engine == "postgresql":
        recreate_target()
        env = common.env_for(TARGET)
        database: str | None = TARGET
        db_args = ["--db", TARGET]
    else:
        shutil.rmtree(SQLITE_TARGET, ignore_errors=True)
        shutil.copytree(SQLITE_TEMPLATE, SQLITE_TARGET)
        env = common.env_for(None, sqlite_dir=SQLITE_TARGET)
        database = None
        db_args = ["--sqlite", str(SQLITE_TARGET)]
    # Compile the catalogs once, so reminders render in every language.
    common.manage("compilemessages", "--ignore", ".venv*", "--ignore", "bench*", "-v0", env=env)
    push_stats("/reset")
    load_before = common.machine()["load"]
    logs = []
    procs = []
    for n in range(workers):
        path = common.RESULTS / f"rush-{engine}-{workers}w-{n}.log"
        log = open(path, "w")  # noqa: SIM115
        logs.append(log)
        # Every thread of the worker, its own and the push loop's: their times overlap.
        profiler = ["-m", "cProfile", "-o", str(path.with_suffix(".prof"))] if profile else []
        procs.append(
            subprocess.Popen(
                [common.PY, *profiler, "manage.py", "sendreminders", "--idle", "1"],
                cwd=common.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    # As in production, the workers are already running (idle, looking every second) when the
    # morning's reminders fall due: their start-up is not part of the rush.
    for n in range(workers):
        path = common.RESULTS / f"rush-{engine}-{workers}w-{n}.log"
        deadline_up = time.monotonic() + 120
        while "started" not in path.read_text() and time.monotonic() < deadline_up:
            time.sleep(0.2)
    # Worker CPU from here on: the rush's cost, steadier than wall time on a shared machine.
    cpu_before = [common.cpu_seconds(p.pid) for p in procs]
    push_cpu_before = common.cpu_seconds(push_pid)
    due = common.bench_python("data.py", "due", *db_args, env=common.env_for(None))
    started = time.monotonic()
    rss_max = 0
    left = count
    inbox_done: tuple[float, float, int] | None = None
    while time.monotonic() - started < timeout:
        time.sleep(2)
        rss_max = max(rss_max, *(common.rss_kib(p.pid) or 0 for p in procs))
        left, inbox = progress(database)
        print(
            f"  {engine} × {workers}: {inbox:,} inbox copies, {count - left:,}/{count:,} reminders done"
            f" after {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        if inbox >= count and inbox_done is None:
            # The inbox wave is through: what the workers spend from here on is the pushes'.
            inbox_done = (
                time.monotonic() - started,
                sum(common.cpu_seconds(p.pid) for p in procs) - sum(cpu_before),
                push_stats()["posts"],
            )
        if left == 0 or (until == "inbox" and inbox >= count) or all(p.poll() is not None for p in procs):
            break
    wall = time.monotonic() - started
    worker_cpu = sum(common.cpu_seconds(p.pid) for p in procs) - sum(cpu_before)
    push_cpu = common.cpu_seconds(push_pid) - push_cpu_before
    crashed = [p.returncode for p in procs if p.poll() is not None and p.returncode != 0]
    for proc in procs:
        common.stop(proc)
    if crashed:
        raise SystemExit(
            f"{engine} × {workers}: a worker exited with {crashed}; see bench/results/rush-*.log"
        )
    for log in logs:
        log.close()
    report = common.bench_python(
        "data.py", "rush-report", *db_args, "--deadline", str(deadline), env=common.env_for(None)
    )
    pushes = push_stats()
    paths = pushes["paths"]
    doubled = sum(1 for hits in paths.values() if hits > 1)
    lost = count - len(paths)
    from datetime import datetime

    due_at = datetime.fromisoformat(due["due_at"])
    last = datetime.fromisoformat(report["last_sent"]) if report["last_sent"] else None
    span = (last - due_at).total_seconds() if last else None
    sent = report["reminders"].get("sent", 0)
    return {
        "engine": engine,
        "workers": workers,
        "count": count,
        "finished": left == 0,
        "until": until,
        "wall_s": round(wall, 1),
        "span_s": round(span, 1) if span else None,
        "throughput_per_s": round(sent / span, 1) if span else None,
        "push_posts": pushes["posts"],
        # Worker CPU (all processes, user + system) per reminder and per push POSTed; the
        # push endpoint's own CPU is the stand-in's, not ours.
        "worker_cpu_s": round(worker_cpu, 1),
        "worker_cpu_ms_per_reminder": round(1000 * worker_cpu / max(count, 1), 3),
        "worker_cpu_ms_per_push": round(1000 * worker_cpu / max(pushes["posts"], 1), 3),
        "pushserver_cpu_s": round(push_cpu, 1),
        # After the inbox wave (seen within 2 s): seconds after due, worker CPU so far, pushes
        # so far; then worker CPU per push for the pushes after it.
        "inbox_done": inbox_done,
        "after_inbox_cpu_ms_per_push": round(
            1000 * (worker_cpu - inbox_done[1]) / max(pushes["posts"] - inbox_done[2], 1), 3
        )
        if inbox_done
        else None,
        "push_lost": lost,
        "push_doubled": doubled,
        "worker_rss_max_mib": round(rss_max / 1024, 1),
        "load_before": load_before,
        "load_after": common.machine()["load"],
        "report": report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--no-sqlite", action="store_true", help="skip the one-worker SQLite run")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per configuration")
    parser.add_argument(
        "--deadline", type=float, default=60, help="on time: sent within this many seconds of due"
    )
    parser.add_argument("--delay", type=float, default=0.1, help="the push endpoint's answer delay")
    parser.add_argument("--remake", action="store_true", help="make the templates again")
    parser.add_argument(
        "--until",
        choices=["all", "inbox"],
        default="all",
        help="stop when every reminder is done (all), or when every inbox copy is out (inbox: the"
        " pushes still waiting then are left out of the push figures)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each worker under cProfile (all its threads), written next to its log as .prof;"
        " the profiler slows the worker, so its figures are not the rush's",
    )
    args = parser.parse_args()

    machine_before = common.machine()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    make_templates(args.count, not args.no_sqlite, args.remake)
    if not common.port_is_free(common.PUSH_PORT):
        raise SystemExit(f"Port {common.PUSH_PORT} is busy")
    push = subprocess.Popen(
        [
            common.PY,
            str(common.BENCH / "pushserver.py"),
            "--port",
            str(common.PUSH_PORT),
            "--delay",
            str(args.delay),
        ]
    )
    common.wait_for_port(common.PUSH_PORT)
    configurations = [("postgresql", w) for w in args.workers] + ([] if args.no_sqlite else [("sqlite", 1)])
    results = []
    try:
        for engine, workers in configurations:
            result = run_one(
                engine, workers, args.count, args.timeout, args.deadline, args.until, push.pid, args.profile
            )
            results.append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "report"}), file=sys.stderr)
            # Kept after each configuration, so a long run stopped later keeps what it measured.
            (common.RESULTS / "rush-partial.json").write_text(json.dumps(results, default=str))
    finally:
        common.stop(push)

    print(
        f"\n| database | workers | reminders | due → last inbox copy | due → last push | reminders/s (all channels) |"
        f" inbox within {args.deadline:g} s | inbox p99.9 | push within {args.deadline:g} s | push p50 / p99.9 | lost | doubled |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ch = r["report"]["channels"]
        inbox, push_ch = ch.get("inbox", {}), ch.get("push", {})
        if r["until"] == "inbox":
            # Stopped once the inbox was out: what still waits for its push is not lost.
            problems_lost = r["count"] - inbox.get("sent", 0)
        else:
            problems_lost = r["count"] - r["report"]["reminders"].get("sent", 0) + r["push_lost"]
        print(
            f"| {r['engine']} | {r['workers']} | {r['count']:,} | {inbox.get('max_s', 0):.1f} s | "
            f"{push_ch.get('max_s', 0):.1f} s | {r['throughput_per_s']} | "
            f"{inbox.get('within_deadline', 0):.1%} | {inbox.get('p999_s', 0):.1f} s | "
            f"{push_ch.get('within_deadline', 0):.1%} | {push_ch.get('p50_s', 0):.0f} s / {push_ch.get('p999_s', 0):.0f} s | "
            f"{problems_lost} | {r['push_doubled'] + r['report']['duplicate_deliveries']} |"
        )
    common.save(
        "rush",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "machine_after": common.machine(),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
