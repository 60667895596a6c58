"""Moments as people read them: in the site's time zone and the active locale's one date and time format."""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone


def local_datetime(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def local_date(moment: dt.datetime | dt.date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "SHORT_DATE_FORMAT")
