# Django's "N j, Y, P" with the weekday in front: "Wednesday, March 4, 2026, 2:30 p.m.".
WEEKDAY_DATETIME_FORMAT = "l, F j, Y, P"
WEEKDAY_MONTH_DAY_TIME_FORMAT = "l, F j, P"
