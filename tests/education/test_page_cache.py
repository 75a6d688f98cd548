"""Public guide pages are rendered once and served from memory (education/pagecache.py):
compressed ahead, revalidated with an ETag, never mixed with a signed-in reader's page, and
right again as soon as a clinician approves a translation, in every process."""

import gzip
import os
import subprocess
import sys

import brotli
import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from education import pagecache, review
from education.catalog import SOURCE_LANGUAGE, load_catalog
from portal.middleware import LocaleMiddleware
from portal.models import Patient
from tests.helpers import log_in
from tests.processes import Site

NOT_REVIEWED = '<p class="notice not-reviewed" role="note">'


def reviewable() -> tuple[str, str]:
    """A translation made from the current English page (one a clinician may approve today)."""
    for module in load_catalog().modules:
        for language, document in sorted(module.documents.items()):
            if language != SOURCE_LANGUAGE and not module.is_out_of_date(document):
                return module.slug, language
    pytest.skip("no translation is up to date in the repository")


@pytest.mark.django_db
def test_the_kept_page_comes_compressed_and_is_the_same_page(client: Client) -> None:
    plain = client.get("/ar/guide/dressing-care/")
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding")
    brotli_page = client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    gzip_page = client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="gzip")
    assert brotli_page["Content-Encoding"] == "br"
    assert gzip_page["Content-Encoding"] == "gzip"
    assert brotli.decompress(brotli_page.content) == plain.content
    assert gzip.decompress(gzip_page.content) == plain.content
    # Each encoding is its own representation, with its own validator.
    assert len({plain["ETag"], brotli_page["ETag"], gzip_page["ETag"]}) == 3
    assert all("Accept-Encoding" in r["Vary"] for r in (plain, brotli_page, gzip_page))
    assert len(brotli_page.content) < len(gzip_page.content) < len(plain.content) / 3


@pytest.mark.django_db
def test_a_page_asked_for_with_a_query_is_not_the_kept_one(client: Client) -> None:
    """(A page printed for a patient is ?for=...: the care team's, never kept.)"""
    client.get("/ar/guide/dressing-care/")
    with CaptureQueriesContext(connection) as kept:
        client.get("/ar/guide/dressing-care/")
    with CaptureQueriesContext(connection) as rendered:
        assert client.get("/ar/guide/dressing-care/?utm=x").status_code == 200
    assert len(kept) == 0 and len(rendered) > 0


@pytest.mark.django_db
def test_a_signed_in_readers_page_never_reaches_anonymous_readers(patient: Patient) -> None:
    """The patient's page names their clinic's numbers; the public page does not. In both
    orders: the public page kept first must not be served to the patient either."""
    reader, visitor = Client(), Client()
    log_in(reader, patient.user)
    public = visitor.get("/en/guide/when-to-call/").text
    own = reader.get("/en/guide/when-to-call/")
    assert patient.clinic.phone_daytime in own.text
    assert "private" in own["Cache-Control"] and not own.has_header("ETag")
    assert patient.clinic.phone_daytime not in public
    pagecache.forget_all()
    reader.get("/en/guide/when-to-call/")
    assert patient.clinic.phone_daytime not in visitor.get("/en/guide/when-to-call/").text


@pytest.mark.django_db
def test_the_next_anonymous_reader_gets_the_same_answer_before_the_rest_of_the_site_runs(
    client: Client, monkeypatch
) -> None:
    first = client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="br")

    def unreachable(*args, **kwargs):
        raise AssertionError("the request went past PublicPageMiddleware")

    # The language middleware runs for every request that goes the whole way.
    monkeypatch.setattr(LocaleMiddleware, "process_request", unreachable)
    again = client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="br")
    assert (again.status_code, again.content, dict(again.items())) == (
        200,
        first.content,
        dict(first.items()),
    )
    # Anything of the reader's own still goes the whole way: a revalidation (for its 304), a
    # query, another page not kept yet.
    for kwargs in ({"HTTP_IF_NONE_MATCH": first["ETag"]}, {"QUERY_STRING": "for=x"}):
        with pytest.raises(AssertionError, match="PublicPageMiddleware"):
            client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="br", **kwargs)
    with pytest.raises(AssertionError, match="PublicPageMiddleware"):
        client.get("/ar/guide/dressing-care/", HTTP_ACCEPT_ENCODING="gzip")


@pytest.mark.django_db
def test_a_host_header_that_varies_cannot_fill_the_memory(client: Client, monkeypatch) -> None:
    """ALLOWED_HOSTS lets any port through, and a page's alternate links name its host: each
    variant is its own page, and the pages kept stay bounded."""
    monkeypatch.setattr(pagecache, "KEPT_MAX", 5)

    def read(ports: range) -> None:
        for port in ports:
            page = client.get("/en/guide/", HTTP_HOST=f"localhost:{port}")
            assert page.status_code == 200
            assert f'href="http://localhost:{port}/ar/guide/"' in page.text

    read(range(1, 5))
    assert len(pagecache._pages) == len(pagecache._sent) == 4  # under the bound: all kept
    read(range(5, 12))
    assert len(pagecache._pages) == len(pagecache._sent) == 5
    # The newest are the ones kept.
    assert [key[1] for key in pagecache._sent] == [f"localhost:{port}" for port in range(7, 12)]


@pytest.mark.django_db
def test_an_approval_shows_on_the_next_request(client: Client, make_user) -> None:
    slug, language = reviewable()
    path = f"/{language}/guide/{slug}/"
    before = client.get(path)
    assert NOT_REVIEWED in before.text
    reviewer = make_user("reviewer@example.test", is_superuser=True, is_staff=True)
    review.review_translation(module=load_catalog().get(slug), language=language, by=reviewer, clinic=None)
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert NOT_REVIEWED not in after.text
    # And for a reader who never had the page (kept whole by PublicPageMiddleware).
    assert NOT_REVIEWED not in client.get(path).text


def test_an_approval_shows_in_every_process(site: Site) -> None:
    """Two web servers keep the page; a third process (a clinician's request, here a shell)
    approves the translation; both servers show it approved on their next request, with
    no query of their own to find out."""
    slug, language = reviewable()
    path = f"/{language}/guide/{slug}/"
    servers = [site.web_server(), site.web_server()]
    for server in servers:
        for _ in range(2):
            assert NOT_REVIEWED in requests.get(server + path, timeout=10).text
    site.manage(
        "shell",
        "-c",
        "from education import review; from education.catalog import load_catalog; "
        "from portal.models import User; "
        "u = User.objects.create_superuser('reviewer@example.test', 'a long password 42'); "
        f"review.review_translation(module=load_catalog().get({slug!r}), language={language!r}, "
        "by=u, clinic=None)",
    )
    for server in servers:
        assert NOT_REVIEWED not in requests.get(server + path, timeout=10).text


def test_persistent_connections_are_the_production_default() -> None:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db",
    }
    env.pop("DB_CONN_MAX_AGE", None)
    code = "import portal.settings as s; d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["600", "True"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_encoding", "sent"),
    [
        ("gzip, deflate, br", "br"),
        ("br;q=0, gzip", "gzip"),  # Brotli refused
        ("gzip;q=0, br;q=0", None),
        ("gzip;q=1.0, br;q=0.5", "gzip"),  # the reader's preference
        ("BR", "br"),
        ("*", "br"),
        ("*;q=0", None),
        ("identity", None),
        ("br;q=not-a-number, gzip;q=0.1", "gzip"),
        ("br;q=nan, gzip;q=2", None),  # weights outside 0-1 are not guessed at
        ("", None),
    ],
)
def test_a_kept_page_honours_the_weights_of_accept_encoding(
    client: Client, accept_encoding: str, sent: str | None
) -> None:
    plain = client.get("/en/guide/dressing-care/").content
    for _ in range(2):  # rendered, then kept
        page = client.get("/en/guide/dressing-care/", HTTP_ACCEPT_ENCODING=accept_encoding)
        assert page.status_code == 200
        assert page.get("Content-Encoding") == sent
        body = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[sent](page.content)
        assert body == plain
