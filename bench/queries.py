"""SQL queries per page at 1x and 50x data: a page whose count grows with data has an N+1.

    .venv/bin/python bench/queries.py [--scales 1 50]

Each scale is a fresh PostgreSQL database made by bench/data.py pages (scale 1: 20 patients in
the clinic and 20 reminders in the patient's inbox; scale 50: 1,000 of each). Each page is
requested twice through Django's test client with the reader's session, in a child process set
up with the bench settings (DEBUG off); the second request's queries are counted, so one-time
caches do not count.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def count_queries(info: dict[str, Any]) -> dict[str, Any]:
    common.setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for page in common.site_pages(info):
        client = Client()
        if page["cookie"]:
            name, value = page["cookie"].split("=", 1)
            client.cookies[name] = value
        first = client.get(page["path"])
        if first.status_code != 200:
            raise SystemExit(f"{page['name']} answered {first.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(page["path"])
        counts[page["name"]] = {"queries": len(captured), "sql": [q["sql"][:300] for q in captured]}
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        common.emit(count_queries(json.loads(args.child)))
        return

    machine_before = common.machine()
    by_scale = {}
    for scale in args.scales:
        database = f"hcc_bench_pages_{scale}x"
        info = common.bench_python(
            "data.py", "pages", "--db", database, "--scale", str(scale), env=common.env_for(None)
        )
        env = common.env_for(database)
        common.manage("compilemessages", "--ignore", ".venv*", "--ignore", "bench*", "-v0", env=env)
        by_scale[scale] = common.bench_python("queries.py", "--child", json.dumps(info), env=env)

    scales = args.scales
    print("\n| page | " + " | ".join(f"queries at {s}x" for s in scales) + " | grows with data |")
    print("|---|" + "---:|" * len(scales) + "---|")
    for name in by_scale[scales[0]]:
        counts = [by_scale[s][name]["queries"] for s in scales]
        print(
            f"| {name} | "
            + " | ".join(map(str, counts))
            + f" | {'**yes**' if len(set(counts)) > 1 else 'no'} |"
        )
    common.save(
        "queries",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "results": by_scale,
        },
    )


if __name__ == "__main__":
    main()
