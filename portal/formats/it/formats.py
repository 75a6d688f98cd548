# Django's own DATETIME_FORMAT already starts with the weekday ("l d F Y H:i"); the day unpadded,
# as in its MONTH_DAY_FORMAT: "Mercoledì 4 Marzo 2026 14:30".
WEEKDAY_DATETIME_FORMAT = "l j F Y H:i"
WEEKDAY_MONTH_DAY_TIME_FORMAT = "l j F H:i"
