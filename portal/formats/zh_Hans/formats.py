# Django's DATETIME_FORMAT with the weekday after the date: "2026年3月4日 星期三 14:30".
WEEKDAY_DATETIME_FORMAT = "Y年n月j日 l H:i"
WEEKDAY_MONTH_DAY_TIME_FORMAT = "n月j日 l H:i"
