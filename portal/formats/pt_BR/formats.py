# Django's DATETIME_FORMAT with the weekday in front: "Quarta-feira, 4 de Março de 2026 às 14:30".
WEEKDAY_DATETIME_FORMAT = r"l, j \d\e F \d\e Y à\s H:i"
WEEKDAY_MONTH_DAY_TIME_FORMAT = r"l, j \d\e F à\s H:i"
