"""Logs carry no secrets and no search words, and say when (issue 8, points 14 and 16);
errors reach ADMINS by email without the request's data."""

import io
import logging
import re

import pytest

from portal.models import OutgoingEmail


@pytest.fixture
def console():
    """What the console handler writes, as an operator reads it."""
    handler = next(h for h in logging.getLogger("django").handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


SECRET = "Zm9vYmFyLXNlY3JldC10b2tlbi0xMjM0NTY3ODkw"


@pytest.mark.django_db
def test_request_logs_carry_no_tokens(client, console):
    client.get(f"/calendar/{SECRET}.ics")
    client.get(f"/invitation/{SECRET}/")
    client.get(f"/accounts/password/reset/key/1-{SECRET}/")
    client.get(f"/patients/?q=Rosa+Diaz&token={SECRET}")
    written = console.getvalue()
    assert "Not Found: /calendar/[…]" in written
    assert SECRET not in written
    assert "Rosa" not in written


def test_server_logs_carry_no_tokens(console):
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /calendar/{SECRET}.ics HTTP/1.1", 200, 512)
    written = console.getvalue()
    assert "/calendar/[…]" in written
    assert SECRET not in written


def test_log_lines_say_when(console):
    logging.getLogger("django.request").warning("Something happened")
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING django.request: Something happened", console.getvalue()
    )


@pytest.mark.django_db
def test_errors_are_emailed_to_admins_without_request_data(settings, rf):
    settings.ADMINS = ["ops@example.test"]
    request = rf.post(f"/invitation/{SECRET}/", {"name": "Rosa Diaz"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=True,
            extra={"status_code": 500, "request": request},
        )
    email = OutgoingEmail.objects.get(kind="error-report")
    assert email.to == "ops@example.test"
    text = email.subject + email.body_text
    assert "Internal Server Error: /invitation/[…]/" in text
    assert "RuntimeError" in text and "test_logs.py" in text
    assert SECRET not in text and "Rosa" not in text
