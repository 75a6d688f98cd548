"""Lighthouse 12 mobile scores, with LCP, TBT and CLS, for the pages issue 13 names.

    npm ci --prefix bench          # once: Lighthouse 12.8.2 into bench/node_modules
    .venv/bin/python bench/lighthouse.py [--runs 1] [--scale 1]

The site runs as in production (gunicorn, DEBUG off, compressed static files, PostgreSQL
database hcc_bench_pages_<scale>x). Pages: the guide index, one module in English and in
Arabic, the patient's today page and the clinic home; the signed-in ones get the reader's
session cookie through --extra-headers. Lighthouse's default mobile run (simulated throttling,
Moto G Power screen). With --runs above 1 each figure is the median. Reports go to
bench/results/lighthouse/.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LIGHTHOUSE = common.BENCH / "node_modules" / ".bin" / "lighthouse"
# Attempts per page: see run_lighthouse.
TRIES = 3
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
METRICS = {
    "LCP_ms": "largest-contentful-paint",
    "TBT_ms": "total-blocking-time",
    "CLS": "cumulative-layout-shift",
}


def run_lighthouse(url: str, cookie: str | None, out: Path) -> dict[str, Any]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--form-factor=mobile",
        "--output=json",
        "--output=html",
        f"--output-path={out}",
        "--quiet",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    # Lighthouse 12.8 with Chromium 156 sometimes fails to record the trace of a load
    # ("NO_NAVSTART"): two of three runs on 12-02 stopped there. Such a run measured nothing, so
    # it is run again (at most twice), and the report says how often.
    for attempt in range(TRIES):
        finished = subprocess.run(command, env={**os.environ, "CHROME_PATH": common.CHROMIUM})
        if finished.returncode == 0:
            break
        print(f"  Lighthouse failed on {url} (attempt {attempt + 1} of {TRIES})", file=sys.stderr)
    else:
        raise SystemExit(f"Lighthouse failed {TRIES} times on {url}")
    report = json.loads(out.with_suffix(".report.json").read_text())
    result = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    for label, audit in METRICS.items():
        result[label] = report["audits"][audit]["numericValue"]
    result["not_full"] = sorted(
        audit_id
        for audit_id, audit in report["audits"].items()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    )
    result["version"] = report["lighthouseVersion"]
    result["attempts"] = attempt + 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is missing: npm ci --prefix bench (Lighthouse 12.8.2, Node 20)")
    common.require(common.CHROMIUM, "apt-get install chromium")

    database = f"hcc_bench_pages_{args.scale}x"
    machine_before = common.machine()
    info = common.bench_python(
        "data.py", "pages", "--db", database, "--scale", str(args.scale), env=common.env_for(None)
    )
    env = common.env_for(database)
    common.prepare_site(env)
    pages = [p for p in common.site_pages(info) if p["name"] in common.LIGHTHOUSE_PAGES]
    base = f"http://127.0.0.1:{common.WEB_PORT}"
    reports = common.RESULTS / "lighthouse"
    reports.mkdir(parents=True, exist_ok=True)
    server = common.start_gunicorn(env)
    results = []
    try:
        for page in pages:
            runs = [
                run_lighthouse(base + page["path"], page["cookie"], reports / f"{page['name']}-{n}")
                for n in range(args.runs)
            ]
            row = {"name": page["name"], "path": page["path"], "who": page["who"], "runs": runs}
            for key in [*CATEGORIES, *METRICS]:
                row[key] = statistics.median(run[key] for run in runs)
            row["not_full"] = sorted({audit for run in runs for audit in run["not_full"]})
            results.append(row)
            print(
                f"{page['name']:<16} " + " ".join(f"{key} {row[key]:g}" for key in [*CATEGORIES, *METRICS]),
                file=sys.stderr,
            )
    finally:
        common.stop(server)

    print(
        f"\nLighthouse {results[0]['runs'][0]['version'] if results else '?'}, mobile, {args.runs} run(s) per page (median)\n"
    )
    print(
        "| page | reader | performance | accessibility | best practices | SEO | LCP | TBT | CLS | audits below full marks |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in results:
        print(
            f"| {row['name']} | {row['who']} | {row['performance']:g} | {row['accessibility']:g} | "
            f"{row['best-practices']:g} | {row['seo']:g} | {row['LCP_ms']:.0f} ms | {row['TBT_ms']:.0f} ms | "
            f"{row['CLS']:.3f} | {', '.join(row['not_full']) or '–'} |"
        )
    common.save(
        "lighthouse",
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
