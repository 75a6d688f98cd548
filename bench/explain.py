"""EXPLAIN ANALYZE of the inbox queries on PostgreSQL at 100,000 patients.

    .venv/bin/python bench/explain.py [--count 100000] [--per-patient 3] [--reuse]

bench/data.py population fills hcc_bench_explain with --count patients, each with an account,
a visit and --per-patient delivered reminders (inbox deliveries sent), a caregiver for every
third patient and five staff per clinic. The patient in the middle, whose inbox holds
--reader-history reminders, signs in; the inbox API (/api/v1/reminders/) and the inbox page
(/reminders/) are requested through Django's test client, every SELECT they send is captured
as executed, and PostgreSQL explains it with ANALYZE and BUFFERS. So the plans are those of
whatever code serves the pages today, without naming its functions. Sequential scans and
execution times are summarised; the full plans are saved with the results.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DATABASE = "hcc_bench_explain"
PATHS = {"inbox-api": "/api/v1/reminders/", "inbox": "/reminders/"}


def explain_pages(cookie: str) -> dict[str, Any]:
    common.setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    found: dict[str, Any] = {}
    for page, path in PATHS.items():
        client.get(path)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (page, response.status_code)
        plans = []
        for query in captured:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            execution = next((line for line in plan if line.startswith("Execution Time")), "")
            plans.append(
                {
                    "sql": sql,
                    "execution_ms": float(execution.split(":")[1].split()[0]) if execution else None,
                    "seq_scans": sorted(
                        {line.split("Seq Scan on ")[1].split()[0] for line in plan if "Seq Scan on " in line}
                    ),
                    "plan": plan,
                }
            )
        found[page] = {"request_ms": round(elapsed * 1000, 1), "queries": len(captured), "plans": plans}
    return found


def describe(sql: str) -> str:
    """A few words for a captured query: what it counts or which table it reads first."""
    kind = "count" if sql.startswith("SELECT COUNT(") else "rows"
    first = sql.split(" FROM ", 1)[1].split()[0].strip('"') if " FROM " in sql else "?"
    return f"{kind} from {first}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--per-patient", type=int, default=3)
    parser.add_argument("--reader-history", type=int, default=1000, help="delivered reminders of the reader")
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        common.emit(explain_pages(args.child))
        return

    machine_before = common.machine()
    marker = common.VAR / "explain.json"
    if args.reuse and marker.exists():
        info = json.loads(marker.read_text())
    else:
        started = time.monotonic()
        info = common.bench_python(
            "data.py",
            "population",
            "--db",
            DATABASE,
            "--count",
            str(args.count),
            "--per-patient",
            str(args.per_patient),
            "--reader-history",
            str(args.reader_history),
            env=common.env_for(None),
        )
        info["made_in_s"] = round(time.monotonic() - started, 1)
        common.VAR.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(info))
    env = common.env_for(DATABASE)
    common.psql("ANALYZE", DATABASE)
    result = common.bench_python("explain.py", "--child", info["cookie"], env=env)

    print(
        f"\n{info['patients']:,} patients, {info.get('caregiver_links', 0):,} caregiver links, "
        f"{info['reminders']:,} delivered reminders, {info.get('reader_inbox', '?')} in the reader's inbox "
        f"(data made in {info.get('made_in_s', '?')} s)\n"
    )
    print("| page | request (ms) | query | execution (ms) | sequential scans |")
    print("|---|---:|---|---:|---|")
    for page, found in result.items():
        for plan in found["plans"]:
            print(
                f"| {page} | {found['request_ms']} | {describe(plan['sql'])} | "
                f"{plan['execution_ms']} | {', '.join(plan['seq_scans']) or '–'} |"
            )
    common.save(
        "explain",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "data": {k: v for k, v in info.items() if k != "cookie"},
            "results": result,
        },
    )


if __name__ == "__main__":
    main()
