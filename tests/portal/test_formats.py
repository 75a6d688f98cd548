"""Dates and times read in the reader's own order in every language."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format, get_format, get_format_modules

from portal.templatetags.dates import NAMES

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


# Wednesday 4 March 2026, 2:30 in the afternoon.
VISIT = datetime(2026, 3, 4, 14, 30)

# Worked by hand from each language's date with time (Django's locales; portal/formats/ar for
# Arabic) with the weekday where the language writes it, and Django's own names of days and
# months in that language (some capitalised: "Marzo", "Março").
WEEKDAY_DATETIMES = {
    "en": "Wednesday, March 4, 2026, 2:30 p.m.",
    "es": "miércoles, 4 de marzo de 2026 a las 14:30",
    "fr": "mercredi 4 mars 2026 14:30",
    "de": "Mittwoch, 4. März 2026 14:30",
    "it": "Mercoledì 4 Marzo 2026 14:30",
    "pt-br": "Quarta-feira, 4 de Março de 2026 às 14:30",
    "zh-hans": "2026年3月4日 星期三 14:30",
    "ar": "الأربعاء، 4 مارس، 2026، 2:30 م",
}
WEEKDAY_MONTH_DAY_TIMES = {
    "en": "Wednesday, March 4, 2:30 p.m.",
    "es": "miércoles, 4 de marzo a las 14:30",
    "fr": "mercredi 4 mars 14:30",
    "de": "Mittwoch, 4. März 14:30",
    "it": "Mercoledì 4 Marzo 14:30",
    "pt-br": "Quarta-feira, 4 de Março às 14:30",
    "zh-hans": "3月4日 星期三 14:30",
    "ar": "الأربعاء، 4 مارس، 2:30 م",
}


def render(source: str, language: str, **context: object) -> str:
    with translation.override(language):
        return Template("{% load dates %}" + source).render(Context(context))


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_every_language_has_its_own_dates_with_a_weekday(language):
    # Not the fallback (the date with time, no weekday): portal/formats/<language> defines them.
    modules = get_format_modules(language)
    for name in NAMES:
        assert any(getattr(module, name, None) for module in modules), (language, name)
    assert language in WEEKDAY_DATETIMES and language in WEEKDAY_MONTH_DAY_TIMES


@pytest.mark.parametrize("language", WEEKDAY_DATETIMES)
def test_a_date_with_its_weekday_and_time_in_the_languages_own_order(language):
    when = render('{{ when|weekday_date:"WEEKDAY_DATETIME_FORMAT" }}', language, when=VISIT)
    assert when == WEEKDAY_DATETIMES[language]


@pytest.mark.parametrize("language", WEEKDAY_MONTH_DAY_TIMES)
def test_a_day_of_the_week_with_its_time_in_the_languages_own_order(language):
    when = render('{{ when|weekday_date:"WEEKDAY_MONTH_DAY_TIME_FORMAT" }}', language, when=VISIT)
    assert when == WEEKDAY_MONTH_DAY_TIMES[language]


def test_an_aware_time_is_written_in_the_templates_time_zone():
    # 08:00 UTC on Tuesday 3 March 2026 is 09:00 in Berlin (CET, UTC+1, before 29 March).
    source = '{% load tz %}{% timezone "Europe/Berlin" %}{{ when|weekday_date:"WEEKDAY_MONTH_DAY_TIME_FORMAT" }}{% endtimezone %}'
    assert render(source, "ar", when=datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) == "الثلاثاء، 3 مارس، 9:00 ص"
    assert render(source, "en", when=datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) == "Tuesday, March 3, 9 a.m."


def test_only_the_apps_own_names_are_taken():
    with pytest.raises(ValueError, match="D j M"):
        render('{{ when|weekday_date:"D j M" }}', "en", when=VISIT)
