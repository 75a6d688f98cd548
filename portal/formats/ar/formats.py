# Django's Arabic locale has dates but no date with time, so a reminder's time fell back to the
# English "N j, Y, P" ("ديسمبر 2, 2026, 8:29 ص"). The same order and Arabic comma as its DATE_FORMAT.
DATE_FORMAT = "j F، Y"
TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "j F، Y، g:i A"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y g:i A"
# With the weekday in front, and the same Arabic commas: "الأربعاء، 4 مارس، 2026، 2:30 م".
WEEKDAY_DATETIME_FORMAT = "l، j F، Y، g:i A"
WEEKDAY_MONTH_DAY_TIME_FORMAT = "l، j F، g:i A"
