"""A real deployment on loopback for the tests that need several processes: its own
database (an SQLite file, or a fresh PostgreSQL database on the PostgreSQL run), migrated
and seeded with the demo data, web servers (gunicorn, as in production) and the worker."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Site:
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def start(self, *command: str) -> subprocess.Popen[bytes]:
        """A process of the site; what it prints goes to a log file next to its database."""
        with open(self.logs / f"process-{len(self.processes)}.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def log(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.logs.glob("process-*.log")))

    def web_server(self, workers: int = 1) -> str:
        """A gunicorn of its own; returns its base URL once it answers."""
        port = free_port()
        self.start(
            str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "portal.wsgi"
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code in (200, 503):
                    return url
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("the web server did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def maintenance(database_url: str, statement: str) -> None:
    with psycopg.connect(re.sub(r"/[^/]*$", "/postgres", database_url), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(tmp_path),
        "DEBUG": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SITE_URL": "http://127.0.0.1",
    }
    database = None
    if url := os.environ.get("DATABASE_URL"):
        # The PostgreSQL run: a database of its own next to the test database.
        database = f"hcc_processes_{os.getpid()}"
        maintenance(url, f'DROP DATABASE IF EXISTS "{database}"')
        maintenance(url, f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = re.sub(r"/[^/]*$", f"/{database}", url)
    site = Site(env, logs=tmp_path)
    site.manage("migrate", "--noinput")
    site.manage("seed_demo")
    yield site
    site.stop()
    if database:
        # Autovacuum may be at work on it (the data version's row churns with every write):
        # a superuser's process, which this role may not end. It is done within seconds.
        for _attempt in range(30):
            try:
                maintenance(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                break
            except psycopg.errors.InsufficientPrivilege:
                time.sleep(1)
        else:
            maintenance(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def csrf_post(session: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """Submit a form as a browser does: the page first, then the form with its CSRF token."""
    page = session.get(url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return session.post(
        url, data={"csrfmiddlewaretoken": token.group(1), **data}, headers={"Referer": url}, timeout=30
    )
