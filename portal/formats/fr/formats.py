# Django's DATETIME_FORMAT with the weekday in front, no comma: "mercredi 4 mars 2026 14:30".
WEEKDAY_DATETIME_FORMAT = "l j F Y H:i"
WEEKDAY_MONTH_DAY_TIME_FORMAT = "l j F H:i"
