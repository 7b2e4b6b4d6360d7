"""
The house date style wherever a template shows a date or time without a
format of its own (the same words as `slagov.formatting`: 9 Dec 2026,
9 Dec 2026 14:00). Input formats stay Django's: forms read ISO dates.
"""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
