"""The exported guide, written once per test session and served by a plain static server."""

import functools
import io
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def exported(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Path:
    root = tmp_path_factory.mktemp("host")
    # Pages read review state from the database (nothing is reviewed in the test database).
    with django_db_blocker.unblock():
        call_command(
            "export_site", str(root / "site"), site_url="https://care.example.org/", stdout=io.StringIO()
        )
    return root


@pytest.fixture(scope="session")
def host(exported: Path) -> Iterator[str]:
    """A plain static server for the parent folder, so the guide lives under /site/."""
    handler = functools.partial(QuietHandler, directory=str(exported))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/site/"
    server.shutdown()
    server.server_close()
