"""Dates and times read in the reader's own order in every language."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format, get_format

WHEN = datetime(2026, 12, 2, 8, 29, tzinfo=UTC)


def test_an_arabic_date_with_time_reads_in_arabic_order():
    # Day, month, Arabic comma, year, as Django's Arabic DATE_FORMAT "j F، Y"; then the time
    # as its TIME_FORMAT "g:i A" (ص: morning). Before, the English "N j, Y, P" order.
    with translation.override("ar"):
        assert date_format(WHEN, "DATETIME_FORMAT") == "2 ديسمبر، 2026، 8:29 ص"


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_language_has_its_own_date_with_time(language):
    # Django falls back to settings.DATETIME_FORMAT (the English order) where a locale has none.
    assert get_format("DATETIME_FORMAT", lang=language) != settings.DATETIME_FORMAT


def test_an_account_notification_email_goes_on_after_the_time():
    """English times end in "a.m.": the email's sentence does not end with the time, which
    read "at Dec. 2, 2026, 8:29 a.m..". (allauth's notification emails extend this template.)"""
    context = {"timestamp": WHEN, "ip": "203.0.113.5", "user_agent": "Firefox"}
    with translation.override("en"), timezone.override(UTC):
        body = render_to_string("account/email/password_changed_message.txt", context)
    assert "At Dec. 2, 2026, 8:29 a.m., it came from the address 203.0.113.5, with Firefox." in body
    assert "a.m.." not in body
