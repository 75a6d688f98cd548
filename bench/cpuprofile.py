"""Where a page's CPU goes: one process, Django's WSGI handler, no server in between.

    .venv/bin/python bench/cpuprofile.py PATH [--who patient|caregiver|admin] [--requests 200]
        [--db hcc_bench_profile_50x] [--scale 50] [--fresh] [--sort cumulative] [--limit 40]

The bench settings with DEBUG off (bench/settings.py), on a PostgreSQL bench database made by
bench/data.py (kept between runs; --fresh makes it again). The page is asked for `--requests`
times after a warm-up: first timed (CPU per request, and the share spent waiting on SQL), then
under cProfile, whose table is printed. The bare view (bench/urls.py) with the same bytes is
timed the same way, so the two CPU figures compare as bench/pages.py's do.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="a path, or a page name of bench/common.py site_pages")
    parser.add_argument("--who", default="patient")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", default="hcc_bench_profile_50x")
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--fresh", action="store_true", help="make the database again")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=45)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--only", help="print only the functions whose file matches (a regex)")
    args = parser.parse_args()

    info_file = common.VAR / f"profile-{args.db}.json"
    if args.fresh or not info_file.exists():
        info = common.bench_python(
            "data.py", "pages", "--db", args.db, "--scale", str(args.scale), env=common.env_for(None)
        )
        common.VAR.mkdir(parents=True, exist_ok=True)
        info_file.write_text(json.dumps(info))
    info = json.loads(info_file.read_text())
    bare_dir = common.VAR / "bare-profile"
    bare_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(common.env_for(args.db, BENCH_BARE_DIR=str(bare_dir)))
    common.setup_django()

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    pages = {p["name"]: p for p in common.site_pages(info)}
    if args.path in pages:
        path, cookie = pages[args.path]["path"], pages[args.path]["cookie"]
    else:
        path, cookie = args.path, info["cookies"].get(args.who)
    app = WSGIHandler()

    def environ(url: str, with_cookie: bool) -> dict:
        env = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": url,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT_ENCODING": "gzip",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if with_cookie and cookie:
            env["HTTP_COOKIE"] = cookie
        return env

    def call(url: str, with_cookie: bool = True) -> tuple[str, bytes, dict]:
        seen: dict = {}

        def start_response(status: str, headers: list, exc_info=None) -> None:
            seen["status"] = status
            seen["headers"] = dict(headers)

        body = b"".join(app(environ(url, with_cookie), start_response))
        return seen["status"], body, seen["headers"]

    status, body, headers = call(path)
    if not status.startswith("200"):
        raise SystemExit(f"{path} answered {status}")
    # The bare view gets the plain bytes (as bench/pages.py gives it).
    plain = body
    if headers.get("Content-Encoding") == "gzip":
        import gzip

        plain = gzip.decompress(body)
    name = "profile" + ("-json" if "json" in headers.get("Content-Type", "") else "")
    (bare_dir / name).write_bytes(plain)
    bare = f"/__bench__/bare/{name}"

    sql = {"seconds": 0.0, "queries": 0}

    def timed(execute, sql_text, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            sql["seconds"] += time.perf_counter() - started
            sql["queries"] += 1

    def measure(url: str, with_cookie: bool) -> dict:
        for _ in range(20):
            call(url, with_cookie)
        sql.update(seconds=0.0, queries=0)
        with connection.execute_wrapper(timed):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                call(url, with_cookie)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = args.requests
        return {
            "cpu_ms": round(1000 * cpu / n, 3),
            "wall_ms": round(1000 * wall / n, 3),
            "sql_wall_ms": round(1000 * sql["seconds"] / n, 3),
            "queries": sql["queries"] / n,
        }

    page = measure(path, True)
    bare_figures = measure(bare, False)
    print(
        json.dumps(
            {
                "path": path,
                "bytes": len(plain),
                "page": page,
                "bare": bare_figures,
                "cpu_ratio": round(bare_figures["cpu_ms"] / page["cpu_ms"], 3),
                "load": os.getloadavg(),
            }
        )
    )
    if args.no_profile:
        return
    # CPU time, not wall time: waiting on PostgreSQL or for the machine is not our cost.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(args.requests):
        call(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(areas(stats, args.requests))
    stats.sort_stats(args.sort)
    if args.only:
        stats.print_stats(args.only, args.limit)
    else:
        stats.print_stats(args.limit)
    print(out.getvalue())


AREAS = [
    ("django/db/models/sql", "ORM: building SQL"),
    ("django/db/models", "ORM: querysets and instances"),
    ("django/db/backends", "ORM: backend"),
    ("psycopg", "psycopg (send, wait, fetch)"),
    ("django/template", "templates"),
    ("django/utils/translation", "translation"),
    ("gettext", "translation"),
    ("rest_framework", "DRF"),
    ("django/contrib/sessions", "sessions"),
    ("django/contrib/auth", "auth"),
    ("allauth", "allauth"),
    ("django/middleware", "Django middleware"),
    ("django/forms", "forms"),
    ("django/urls", "URL resolving and reverse"),
    ("django/http", "HTTP request/response"),
    ("django/utils", "django.utils (other)"),
    ("django/core", "django.core"),
    ("django", "django (other)"),
    ("whitenoise", "whitenoise"),
    ("/portal/", "portal (our code)"),
    ("/education/", "education (our code)"),
    ("gzip", "gzip/zlib"),
    ("zlib", "gzip/zlib"),
    ("hashlib", "hashing"),
    ("sha256", "hashing"),
]


def areas(stats: pstats.Stats, requests: int) -> str:
    """Own time (tottime) summed by library area, in profiled ms per request."""
    totals: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{function}"
        label = next((name for key, name in AREAS if key in where), "other (stdlib, builtins)")
        totals[label] = totals.get(label, 0.0) + row[2]
    whole = sum(totals.values())
    lines = [f"{'area':<34} {'ms/req (profiled)':>18} {'share':>6}"]
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        lines.append(f"{label:<34} {1000 * seconds / requests:18.2f} {seconds / whole:6.0%}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
