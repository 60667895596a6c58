"""English: one date format and one date-and-time format everywhere (pages, admin, captions), never ambiguous
between the day and the month ("6 Dec 2026"), and times on the 24-hour clock (a retailer's till receipts)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
