"""The session store (portal/sessions.py) reads what Django's database store reads."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.sessions import SessionStore
from tests.helpers import log_in

pytestmark = pytest.mark.django_db


def test_the_site_uses_it() -> None:
    assert settings.SESSION_ENGINE == "portal.sessions"


def test_reads_what_djangos_store_reads() -> None:
    made = DjangoStore()
    made["answer"] = {"nested": [1, "två"]}
    made.save()
    ours = SessionStore(made.session_key)
    assert ours.load() == DjangoStore(made.session_key).load() == {"answer": {"nested": [1, "två"]}}
    assert ours.session_key == made.session_key


def test_an_expired_or_unknown_session_is_empty_and_gets_a_new_key() -> None:
    made = SessionStore()
    made["x"] = 1
    made.save()
    Session.objects.filter(session_key=made.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (made.session_key, "n" * 32, None):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None
        store["y"] = 2
        store.save()
        assert store.session_key not in (None, made.session_key)


def test_a_signed_in_page_reads_its_session_in_one_plain_query(
    client, patient, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    log_in(client, patient.user)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/push/key/").status_code == 200
    first = ctx.captured_queries[0]["sql"]
    assert first.startswith('SELECT session_data FROM "django_session" WHERE session_key =')
    client.cookies[settings.SESSION_COOKIE_NAME] = "z" * 32
    assert client.get("/api/v1/push/key/").status_code == 403
