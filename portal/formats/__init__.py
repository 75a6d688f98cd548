"""Date formats Django's own locales lack (FORMAT_MODULE_PATH): only those, per language.

Two are the app's own names, defined for every language in settings.LANGUAGES, for the staff
lists that need the weekday (Django has no format with one). Templates write them with
``{% load dates %}{{ value|weekday_date:"WEEKDAY_DATETIME_FORMAT" }}`` (portal/templatetags/dates.py),
since Django's |date filter knows only its own names:

- WEEKDAY_DATETIME_FORMAT: weekday, date with year, time (a course's visits, the handout pack);
- WEEKDAY_MONTH_DAY_TIME_FORMAT: weekday, day and month, time (this week's treatments, the
  next reminders).

Each is the language's own DATETIME_FORMAT (or MONTH_DAY_FORMAT and TIME_FORMAT) with the
weekday where that language writes it."""
