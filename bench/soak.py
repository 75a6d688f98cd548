"""Soak: mixed traffic for 10 minutes with the reminder worker running.

    .venv/bin/python bench/soak.py [--minutes 10] [--connections 16] [--delay-ms 250] [--reminders 3000]

The site as in production (gunicorn 2 workers, DEBUG off, PostgreSQL hcc_bench_soak with the
scale-50 pages data set: 1,000 patients, 1,000 reminders in one inbox), one `manage.py
sendreminders` process, and --reminders reminders falling due evenly over the soak, each sent
to the inbox and to bench/pushserver.py (201 after 100 ms). wrk (bench/soak.lua, written per run)
cycles through the public and signed-in pages with the readers' cookies; each connection waits
--delay-ms between its requests, so the offered load is moderate, not a saturation test.

Targets (issue 13): zero errors, p99 under 200 ms, memory flat (RSS of the gunicorn master and
workers, the reminder worker and the push endpoint, sampled every 10 s: the first minute is
warm-up; growth is the last sample against the one at one minute).
"""

import argparse
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DATABASE = "hcc_bench_soak"
MIX = [
    "guide-index-en",
    "guide-module-en",
    "guide-module-ar",
    "patient-today",
    "inbox",
    "inbox-api",
    "reminder",
    "caregiver-home",
    "clinic-home",
    "clinic-patient",
    "offline-en",
    "sign-in",
]


def lua_script(pages: list[dict[str, Any]], delay_ms: int) -> str:
    entries = []
    for page in pages:
        headers = f'{{["Cookie"] = "{page["cookie"]}"}}' if page["cookie"] else "{}"
        entries.append(f'  {{path = "{page["path"]}", headers = {headers}}},')
    return "\n".join(
        [
            "-- Written by bench/soak.py: cycle through the pages, each with its reader's cookie.",
            "local pages = {",
            *entries,
            "}",
            "local prepared = {}",
            "local n = 0",
            "init = function(args)",
            "  for i, page in ipairs(pages) do prepared[i] = wrk.format('GET', page.path, page.headers) end",
            "  n = math.random(#prepared)",
            "end",
            "request = function()",
            "  n = n % #prepared + 1",
            "  return prepared[n]",
            "end",
            f"delay = function() return {delay_ms} end",
        ]
    )


def sample_memory(
    procs: dict[str, int], stop: threading.Event, samples: list[dict[str, Any]], every: float
) -> None:
    started = time.monotonic()
    while not stop.is_set():
        row: dict[str, Any] = {"t": round(time.monotonic() - started)}
        for name, pid in procs.items():
            row[name] = common.rss_kib(pid)
            if name == "gunicorn-master":
                for n, child in enumerate(sorted(common.children(pid))):
                    row[f"gunicorn-worker-{n}"] = common.rss_kib(child)
        samples.append(row)
        stop.wait(every)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--delay-ms", type=int, default=250)
    parser.add_argument("--reminders", type=int, default=3000)
    parser.add_argument("--scale", type=int, default=50)
    args = parser.parse_args()
    seconds = args.minutes * 60

    machine_before = common.machine()
    parent_env = common.env_for(None)
    info = common.bench_python(
        "data.py", "pages", "--db", DATABASE, "--scale", str(args.scale), env=parent_env
    )
    env = common.env_for(DATABASE)
    common.prepare_site(env)
    pages = [p for p in common.site_pages(info) if p["name"] in MIX]
    script = common.RESULTS / "soak.lua"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    script.write_text(lua_script(pages, args.delay_ms))

    push = subprocess.Popen([common.PY, str(common.BENCH / "pushserver.py"), "--port", str(common.PUSH_PORT)])
    common.wait_for_port(common.PUSH_PORT)
    server = common.start_gunicorn(env)
    trickle = common.bench_python(
        "data.py",
        "trickle",
        "--db",
        DATABASE,
        "--count",
        str(args.reminders),
        "--seconds",
        str(seconds - 60),
        env=parent_env,
    )
    worker_log = open(common.RESULTS / "soak-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [common.PY, "manage.py", "sendreminders", "--idle", "1"],
        cwd=common.ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    sampler = threading.Thread(
        target=sample_memory,
        args=(
            {"gunicorn-master": server.pid, "sendreminders": worker.pid, "pushserver": push.pid},
            stop,
            samples,
            10,
        ),
    )
    sampler.start()
    try:
        traffic = common.run_wrk(
            f"http://127.0.0.1:{common.WEB_PORT}/",
            duration=seconds,
            connections=args.connections,
            script=script,
        )
        # Let the worker finish what fell due in the last minute.
        time.sleep(30)
    finally:
        stop.set()
        sampler.join()
        for proc in (worker, server, push):
            common.stop(proc)
        worker_log.close()
    report = common.bench_python(
        "data.py", "rush-report", "--db", DATABASE, "--since", trickle["first_due"], env=parent_env
    )

    warm = next((s for s in samples if s["t"] >= 60), samples[0])
    last = samples[-1]
    memory = {
        name: {
            "at_1_min_mib": round((warm.get(name) or 0) / 1024, 1),
            "end_mib": round((last.get(name) or 0) / 1024, 1),
            "max_mib": round(max((s.get(name) or 0) for s in samples) / 1024, 1),
        }
        for name in last
        if name != "t"
    }
    errors = traffic["non_2xx_3xx"] + traffic["socket_errors"]
    print(
        f"\nSoak: {args.minutes:g} min, {args.connections} connections, {args.delay_ms} ms between requests per connection\n"
    )
    print(
        "| requests | req/s | errors | p50 | p90 | p99 | reminders sent / due | push within 60 s | doubled |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    push_ch = report["channels"].get("push", {})
    print(
        f"| {traffic.get('requests', 0):,} | {traffic.get('rps', 0):.0f} | {errors} | {traffic.get('p50_ms')} ms | "
        f"{traffic.get('p90_ms')} ms | {traffic.get('p99_ms')} ms | {report['reminders'].get('sent', 0):,} / {args.reminders:,} | "
        f"{push_ch.get('within_deadline', 0):.1%} | {report['duplicate_deliveries']} |"
    )
    print("\n| process | RSS at 1 min | RSS at end | max |")
    print("|---|---:|---:|---:|")
    for name, row in memory.items():
        print(f"| {name} | {row['at_1_min_mib']} MiB | {row['end_mib']} MiB | {row['max_mib']} MiB |")
    common.save(
        "soak",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "machine_after": common.machine(),
            "traffic": traffic,
            "reminders": report,
            "memory": memory,
            "samples": samples,
            "finished": datetime.now(UTC).isoformat(),
            "trickle": trickle,
        },
    )


if __name__ == "__main__":
    main()
