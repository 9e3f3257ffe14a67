"""Reading a date or date-time a person typed into a file (a review decision's
``decided_at``, an override's ``date``).

People's files are saved by spreadsheets in local forms, so besides ISO 8601 (``2026-01-05``,
``2026-01-05 09:30``, ``2026-01-05T09:30:00Z``) these are read:

- ``05.01.2026`` and ``05-01-2026`` (day first), with an optional ``09:30[:00]``;
- ``2026/01/05`` (year first);
- ``05/01/2026`` when unambiguous: day first if the first number is above 12, month first
  if the second is (``01/25/2026 9:30 AM``); both at most 12 and different is ambiguous
  and not read;
- ``02-Jan-2026``, ``2 Jan 2026``, ``2 January 2026``, ``Jan 2, 2026`` (English month
  names, as the input files' dates);
- a time with ``AM``/``PM``;
- an Excel serial day number (``46027`` or ``46027.395``, 1982–2173).

Anything else is not read: the caller names the file, row and column.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["read_when"]

_TIME = (
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ap>[AaPp]\.?[Mm]\.?)?)?"
)
_DMY = re.compile(r"(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_YMD = re.compile(r"(?P<y>\d{4})/(?P<a>\d{1,2})/(?P<b>\d{1,2})" + _TIME)
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: English month names, as [validate] date_formats reads them in the input files.
_NAMED_MONTH = ("%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")
_CLOCK = ("", " %H:%M", " %H:%M:%S", " %I:%M %p")


def _month_name(s: str) -> tuple[dt.datetime | None, str | None]:
    for day in _NAMED_MONTH:
        for clock in _CLOCK:
            try:
                return dt.datetime.strptime(s, day + clock), None
            except ValueError:
                continue
    return None, "not a date"


def read_when(text: str) -> tuple[dt.datetime | None, str | None]:
    """A person's date or date-time as a naive ``datetime``, or why it cannot be read.

    Returns
    -------
    (value, None) when read; (None, why) when not, ``why`` being a short phrase for a
    message ("ambiguous: … may be day or month first", "not a date").

    Examples
    --------
    >>> read_when("05.01.2026 09:30")[0]
    datetime.datetime(2026, 1, 5, 9, 30)
    >>> read_when("01/25/2026 2:05 PM")[0]
    datetime.datetime(2026, 1, 25, 14, 5)
    >>> read_when("03/04/2026")
    (None, 'ambiguous: 03/04/2026 may be day or month first')
    >>> read_when("next year")
    (None, 'not a date')
    """
    s = text.strip()
    if not s:
        return None, "empty"
    try:
        value = dt.datetime.fromisoformat(s.replace(" T", "T"))
    except ValueError:
        pass
    else:
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value, None
    if _SERIAL.fullmatch(s):
        days = float(s)
        if 30000 <= days < 100000:
            return _EXCEL_EPOCH + dt.timedelta(days=days), None
        return None, "not a date"
    m = _YMD.fullmatch(s)
    if m:
        year, month, day = int(m["y"]), int(m["a"]), int(m["b"])
    else:
        m = _DMY.fullmatch(s)
        if not m:
            return _month_name(s)
        year, a, b = int(m["y"]), int(m["a"]), int(m["b"])
        if m["sep"] != "/" or a > 12:
            day, month = a, b
        elif b > 12 or a == b:
            month, day = a, b
        else:
            return None, f"ambiguous: {s} may be day or month first"
    hour = int(m["H"]) if m["H"] else 0
    minute = int(m["M"]) if m["M"] else 0
    second = int(m["S"]) if m["S"] else 0
    if m["ap"]:
        if not 1 <= hour <= 12:
            return None, "not a date"
        pm = m["ap"][0] in "Pp"
        hour = hour % 12 + (12 if pm else 0)
    try:
        return dt.datetime(year, month, day, hour, minute, second), None
    except ValueError:
        return None, "not a date"
