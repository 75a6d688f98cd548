"""What every benchmark script shares: paths, the environment of the processes under test,
bench databases, starting and stopping servers, and a note of the machine's state.

Scripts import this module only; they reach the application through `manage.py`, HTTP, or a
child process that sets up Django (bench/data.py), never by importing it here, so one script can
drive several databases and settings at once.
"""

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = str(ROOT / ".venv" / "bin" / "python")
VAR = BENCH / "var"  # state of the processes under test (secret keys, static files, SQLite)
RESULTS = BENCH / "results"  # JSON of every run; BENCHMARKS.md quotes them
PG = os.environ.get("BENCH_PG", "postgres://hcc:hcc@127.0.0.1:5432")
# Ports 8090-8099 belong to the bench; change them with BENCH_PORT_BASE.
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "8090"))
WEB_PORT = PORT_BASE  # gunicorn
PUSH_PORT = PORT_BASE + 1  # bench/pushserver.py
SECRET = "bench-only-secret-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz"
# The raw P-256 scalar 0x0102…20, base64url: a bench-only push signing key.
VAPID_KEY = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def database_url(name: str) -> str:
    if not name.startswith("hcc_bench_"):
        # Never touch the databases of the test suites or of other helpers.
        raise SystemExit(f"Bench databases are named hcc_bench_*, not {name!r}")
    return f"{PG}/{name}"


def env_for(database: str | None, *, sqlite_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a process under test: production settings (DEBUG off) on a bench
    database, with the bench URLconf (bench/settings.py) that adds the bare view."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "VAR_DIR")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        PYTHONPATH=str(ROOT),
        DEBUG="false",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SITE_URL=f"http://127.0.0.1:{WEB_PORT}",
        # Plain http on loopback: the browser must send the session cookie back.
        SESSION_COOKIE_SECURE="false",
        # The local push endpoint is http on loopback.
        PUSH_ALLOW_INSECURE_ENDPOINTS="true",
        # A fixed signing key, as production has: without one, each fresh VAR_DIR makes its own.
        VAPID_PRIVATE_KEY=VAPID_KEY,
        VAR_DIR=str(sqlite_dir or VAR),
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if database:
        env["DATABASE_URL"] = database_url(database)
    env.update(extra)
    return env


def psql(sql: str, database: str = "postgres") -> None:
    """Run administrative SQL (CREATE/DROP DATABASE) as the bench role."""
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute(sql)


def recreate_database(name: str, *, template: str | None = None) -> None:
    drop_database(name)
    if template:
        database_url(template)
        psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        psql(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    """Autovacuum may be at work on it (a superuser's process, which the bench role may not
    end; the data version's row churns with every write): it is done within seconds."""
    import psycopg

    database_url(name)
    for _attempt in range(30):
        try:
            psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(2)
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def bench_python(script: str, *args: str, env: dict[str, str]) -> Any:
    """Run a bench script in a child process with Django set up there; it prints one JSON line last."""
    result = subprocess.run(
        [PY, str(BENCH / script), *args], cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare_site(env: dict[str, str]) -> None:
    """Migrate, compile the catalogs and collect static files, as a deploy would."""
    manage("migrate", "--noinput", "-v0", env=env)
    manage("compilemessages", "--ignore", ".venv*", "--ignore", "bench*", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing answered on port {port} within {timeout} s")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_gunicorn(env: dict[str, str], *, workers: int = 2, port: int = WEB_PORT) -> subprocess.Popen:
    if not port_is_free(port):
        raise SystemExit(f"Port {port} is busy: stop what runs there first")
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = open(RESULTS / "gunicorn.log", "a")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "portal.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    wait_for_port(port)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fetch(url: str, cookie: str | None = None, accept_encoding: str | None = None) -> tuple[int, bytes, Any]:
    """GET without following redirects: (status, body, headers)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url)
    if cookie:
        request.add_header("Cookie", cookie)
    if accept_encoding:
        request.add_header("Accept-Encoding", accept_encoding)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def settle(base: str, timeout: float = 60) -> None:
    """Wait until the server has worked off what an earlier wrk run left queued (slow pages
    keep the workers busy after wrk stops), so it does not eat into the next run. The probe is
    the public offline page (served from memory, no database) over a bare HTTP connection:
    /healthz writes to the database, and on a shared, busy machine took longer than the
    threshold even with nothing queued."""
    import http.client

    address = urllib.parse.urlsplit(base)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.monotonic()
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            connection.request("GET", "/en/offline/")
            connection.getresponse().read()
        finally:
            connection.close()
        if time.monotonic() - started < 0.05:
            return
        time.sleep(0.2)


# --- Processes and the machine -------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/PID/stat, in clock ticks)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_with_cpu(server: subprocess.Popen, url: str, **wrk: Any) -> dict[str, Any]:
    """One wrk run (run_wrk), with the CPU time the server's workers spent on it per request:
    a figure that does not move with what else the machine is doing."""
    workers = children(server.pid)
    before = sum(cpu_seconds(pid) for pid in workers)
    result = run_wrk(url, **wrk)
    spent = sum(cpu_seconds(pid) for pid in workers) - before
    result["cpu_ms_per_request"] = round(1000 * spent / max(result.get("requests", 0), 1), 3)
    return result


def busiest_processes(limit: int = 5) -> list[str]:
    """What else used the CPU at the time: `ps` sorted by CPU share (lifetime average)."""
    out = subprocess.run(
        ["ps", "-eo", "pcpu,etimes,args", "--sort=-pcpu", "--no-headers"], capture_output=True, text=True
    ).stdout
    return [" ".join(line.split()[:6])[:120] for line in out.splitlines()[:limit]]


def yardstick() -> dict[str, Any]:
    """The same fixed work timed in CPU, eleven times over about a second: a pure-Python loop
    (what a worker or a page costs) and a P-256 ECDH exchange (a push's largest single cost),
    as the median and the range. This VM's speed drifted by a fifth within an hour and by a
    third between runs. The yardstick tells a slower CPU apart; a run slower than its yardstick
    says was slowed elsewhere (the host's memory or disk, which it does not see). Code is still
    compared only in alternating runs."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key, peer = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1()).public_key()
    python, ecdh = [], []
    for _ in range(11):
        start = time.process_time()
        total = 0
        for i in range(200_000):
            total += i % 7
        python.append((time.process_time() - start) * 1000)
        start = time.process_time()
        for _ in range(100):
            key.exchange(ec.ECDH(), peer)
        ecdh.append((time.process_time() - start) / 100 * 1e6)
    python.sort()
    ecdh.sort()
    return {
        "python_loop_ms": [round(python[5], 1), round(python[0], 1), round(python[-1], 1)],
        "ecdh_us": [round(ecdh[5], 1), round(ecdh[0], 1), round(ecdh[-1], 1)],
        "note": "median, fastest, slowest of 11",
    }


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    pg_version = ""
    try:
        import psycopg

        with psycopg.connect(f"{PG}/postgres") as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 - the machine note must not fail a run
        pg_version = "unreachable"
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "load": [round(x, 2) for x in os.getloadavg()],
        "yardstick": yardstick(),
        "busiest": busiest_processes(),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"\nSaved {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def require(tool: str, hint: str) -> str:
    found = shutil.which(tool) or (tool if Path(tool).exists() else None)
    if not found:
        raise SystemExit(f"{tool} is missing: {hint}")
    return found


def setup_django() -> None:
    """For the child processes (bench/data.py and friends): Django with the bench settings."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def emit(data: Any) -> None:
    """The last line a child process prints: its result as JSON for the parent."""
    print(json.dumps(data, default=str), flush=True)


# --- The pages every script measures -------------------------------------------------------------


def site_pages(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the site worth measuring, with who reads it. ``info`` is what
    `data.py pages` printed (codes and session cookies)."""
    cookies = info["cookies"]
    pages = [
        ("guide-index-en", "/en/guide/", None),
        ("guide-module-en", "/en/guide/dressing-care/", None),
        ("guide-module-ar", "/ar/guide/dressing-care/", None),
        ("offline-en", "/en/offline/", None),
        ("sign-in", "/accounts/login/", None),
        ("patient-today", f"/patients/{info['patient']}/", "patient"),
        # The patient's own start page (/care/ sends them here).
        ("care-today", f"/care/{info['patient']}/", "patient"),
        ("inbox", "/reminders/", "patient"),
        ("inbox-api", "/api/v1/reminders/", "patient"),
        ("reminder", f"/reminders/{info['reminder']}/", "patient"),
        ("settings", "/account/settings/", "patient"),
        # The caregiver's start page (/ sends them here): today's care of their one patient.
        ("caregiver-home", "/care/", "caregiver"),
        ("clinic-home", "/patients/", "admin"),
        ("clinic-patient", f"/patients/{info['patient']}/", "admin"),
        ("enrol", "/patients/enrol/", "admin"),
        ("clinic-reminders", f"/clinics/{info['clinic']}/reminders/", "admin"),
        ("audit", f"/clinics/{info['clinic']}/audit/", "admin"),
        ("translations", "/translations/", "admin"),
    ]
    return [
        {"name": name, "path": path, "who": who or "anonymous", "cookie": cookies[who] if who else None}
        for name, path, who in pages
    ]


# The pages issue 13 names for Lighthouse, and the default set for wrk.
LIGHTHOUSE_PAGES = ["guide-index-en", "guide-module-en", "guide-module-ar", "patient-today", "clinic-home"]
WRK_PAGES = [*LIGHTHOUSE_PAGES, "care-today", "inbox", "inbox-api", "clinic-patient"]


# --- wrk -------------------------------------------------------------------------------------------


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int = 16,
    threads: int = 2,
    cookie: str | None = None,
    script: Path | None = None,
) -> dict[str, Any]:
    """One wrk run; requests per second, latency percentiles and every kind of error."""
    command = [
        require("wrk", "apt-get install wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {"non_2xx_3xx": 0, "socket_errors": 0}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(words[1])
        elif len(words) == 2 and words[0] in ("50%", "75%", "90%", "99%"):
            result[f"p{words[0][:-1]}_ms"] = round(_ms(words[1]), 2)
        elif "requests in" in line:
            result["requests"] = int(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_3xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            result["socket_errors"] = sum(
                int(word.rstrip(",")) for word in words if word.rstrip(",").isdigit()
            )
    result["raw"] = out
    return result
