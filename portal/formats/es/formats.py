# Django's DATETIME_FORMAT with the weekday in front: "miércoles, 4 de marzo de 2026 a las 14:30".
WEEKDAY_DATETIME_FORMAT = r"l, j \d\e F \d\e Y \a \l\a\s H:i"
WEEKDAY_MONTH_DAY_TIME_FORMAT = r"l, j \d\e F \a \l\a\s H:i"
