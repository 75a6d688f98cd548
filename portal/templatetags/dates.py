"""``{{ value|weekday_date:"WEEKDAY_DATETIME_FORMAT" }}``: a date with its weekday, in the
reader's language's own order (portal/formats/<language>/formats.py).

Django's |date filter takes only Django's own format names, and a fixed format such as
"D j M, H:i" gives every language the English order and a Latin comma. This filter takes only
the app's names below, looked up in the active language's format modules as Django looks up its
own; like |date it gets an aware datetime in the current time zone ({% timezone %} applies)."""

from datetime import date

from django import template
from django.utils import dateformat, formats

register = template.Library()

NAMES = ("WEEKDAY_DATETIME_FORMAT", "WEEKDAY_MONTH_DAY_TIME_FORMAT")


def weekday_format(name: str, lang: str | None = None) -> str:
    """The format string ``name`` has in ``lang`` (the active language by default)."""
    if name not in NAMES:
        raise ValueError(f"Not one of the app's date formats {NAMES}: {name!r}")
    for module in formats.get_format_modules(lang):
        if value := getattr(module, name, None):
            return str(value)
    # A language added without them (tests/portal/test_formats.py fails): its date with time.
    return str(formats.get_format("DATETIME_FORMAT", lang))


@register.filter(expects_localtime=True)
def weekday_date(value: date | None, name: str) -> str:
    if not value:  # None, or "" for a missing variable, as |date
        return ""
    return dateformat.format(value, weekday_format(name))
