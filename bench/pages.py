"""Requests per second of each page, as a ratio to a bare Django view returning the same bytes.

    .venv/bin/python bench/pages.py [--scale 50] [--duration 10] [--runs 3] [--all]

gunicorn with 2 sync workers, DEBUG off, PostgreSQL (database hcc_bench_pages_<scale>x, made
afresh by bench/data.py), static files collected and compressed as a deploy does; wrk with 2
threads and 16 connections. For each page: the page, then the bare view (bench/urls.py) with the
page's own bytes, alternately, `--runs` times, after a short warm-up of both. Signed-in pages
send the session cookie of the person who reads them. At the default scale 50 the patient's
inbox holds 1,000 reminders and the clinic 1,000 patients.

The machine is shared: besides requests per second (which move with whatever else runs), each
run reads the CPU time the two gunicorn workers spent (/proc, user + system) and divides it by
the requests served. The ratio of CPU per request (bare / page) does not depend on how much of
the machine the server got, so it is the steadier figure of the two; the load average is noted
with each page.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--all", action="store_true", help="every page, not only the issue's set")
    parser.add_argument("--page", action="append", help="only these pages (repeatable)")
    parser.add_argument(
        "--conn-max-age", help="DB_CONN_MAX_AGE of the server (default: the production default, 600)"
    )
    args = parser.parse_args()

    database = f"hcc_bench_pages_{args.scale}x"
    machine_before = common.machine()
    info = common.bench_python(
        "data.py", "pages", "--db", database, "--scale", str(args.scale), env=common.env_for(None)
    )
    bare_dir = common.VAR / "bare"
    bare_dir.mkdir(parents=True, exist_ok=True)
    extra = {"DB_CONN_MAX_AGE": args.conn_max_age} if args.conn_max_age is not None else {}
    env = common.env_for(database, BENCH_BARE_DIR=str(bare_dir), **extra)
    common.prepare_site(env)

    pages = common.site_pages(info)
    wanted = set(args.page or ([p["name"] for p in pages] if args.all else common.WRK_PAGES))
    pages = [p for p in pages if p["name"] in wanted]
    base = f"http://127.0.0.1:{common.WEB_PORT}"
    server = common.start_gunicorn(env)
    results = []
    try:
        for page in pages:
            status, body, headers = common.fetch(base + page["path"], page["cookie"])
            if status != 200:
                raise SystemExit(f"{page['name']}: {page['path']} answered {status}, not 200")
            bare_name = page["name"] + ("-json" if "json" in headers.get("Content-Type", "") else "")
            (bare_dir / bare_name).write_bytes(body)
            bare_url = f"{base}/__bench__/bare/{bare_name}"
            status, bare_body, _headers = common.fetch(bare_url)
            assert status == 200 and bare_body == body, (
                f"the bare view does not return {page['name']}'s bytes"
            )

            runs: dict[str, list[dict]] = {"page": [], "bare": []}
            load_before = [round(x, 2) for x in os.getloadavg()]
            common.run_wrk(base + page["path"], duration=2, cookie=page["cookie"])  # warm-up
            common.settle(base)
            common.run_wrk(bare_url, duration=2)
            for _ in range(args.runs):
                common.settle(base)
                runs["page"].append(
                    common.wrk_with_cpu(
                        server,
                        base + page["path"],
                        duration=args.duration,
                        connections=args.connections,
                        cookie=page["cookie"],
                    )
                )
                common.settle(base)
                runs["bare"].append(
                    common.wrk_with_cpu(
                        server, bare_url, duration=args.duration, connections=args.connections
                    )
                )
            page_rps = [run["rps"] for run in runs["page"]]
            bare_rps = [run["rps"] for run in runs["bare"]]
            if not all(bare_rps):
                raise SystemExit(f"{page['name']}: the bare view answered nothing in a run: {bare_rps}")
            row = {
                "name": page["name"],
                "path": page["path"],
                "who": page["who"],
                "bytes": len(body),
                "page_rps": page_rps,
                "bare_rps": bare_rps,
                "ratio": statistics.median(page_rps) / statistics.median(bare_rps),
                "ratios": [p / b for p, b in zip(page_rps, bare_rps, strict=True)],
                "page_p99_ms": [run.get("p99_ms") for run in runs["page"]],
                "page_cpu_ms": [run["cpu_ms_per_request"] for run in runs["page"]],
                "bare_cpu_ms": [run["cpu_ms_per_request"] for run in runs["bare"]],
                "cpu_ratio": statistics.median(run["cpu_ms_per_request"] for run in runs["bare"])
                / statistics.median(run["cpu_ms_per_request"] for run in runs["page"]),
                "load": [load_before, [round(x, 2) for x in os.getloadavg()]],
                "errors": sum(
                    run["non_2xx_3xx"] + run["socket_errors"] for run in runs["page"] + runs["bare"]
                ),
            }
            results.append(row)
            print(
                f"{row['name']:<18} page {min(page_rps):7.0f}–{max(page_rps):7.0f} req/s  "
                f"bare {min(bare_rps):7.0f}–{max(bare_rps):7.0f}  ratio {row['ratio']:.3f}  "
                f"cpu ratio {row['cpu_ratio']:.3f}  load {row['load'][0][0]}→{row['load'][1][0]}  "
                f"errors {row['errors']}",
                file=sys.stderr,
            )
    finally:
        common.stop(server)

    print(
        "\n| page | reader | bytes | page req/s (runs) | bare req/s (runs) | ratio (median) "
        "| CPU ms/request page / bare (median) | CPU ratio | page p99 ms | load (1 min) |"
    )
    print("|---|---|---:|---|---|---:|---:|---:|---|---|")
    for row in results:
        print(
            f"| {row['name']} `{row['path']}` | {row['who']} | {row['bytes']:,} | "
            f"{', '.join(f'{x:.0f}' for x in row['page_rps'])} | {', '.join(f'{x:.0f}' for x in row['bare_rps'])} | "
            f"{row['ratio']:.3f} | {statistics.median(row['page_cpu_ms']):.2f} / "
            f"{statistics.median(row['bare_cpu_ms']):.2f} | {row['cpu_ratio']:.3f} | "
            f"{', '.join(f'{x:.0f}' for x in row['page_p99_ms'] if x is not None)} | "
            f"{row['load'][0][0]} → {row['load'][1][0]} |"
        )
    common.save(
        "pages",
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
