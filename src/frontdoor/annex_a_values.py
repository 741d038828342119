"""Cleaning Ofsted Annex A cell values (pure; no workbook, no database).

Contract: every cleaner takes a cell value as openpyxl returns it (``None``, ``str``, ``int``,
``float``, ``bool``, ``datetime`` or ``date``) and returns the cleaned value, ``None`` for a
blank cell, or raises :class:`BadValue` whose reason never quotes free text (only values that
look like dates or ids are shown, through :func:`frontdoor.csvformat.shown`).

- Blank: ``None``, empty or whitespace-only text, and the placeholders in :data:`BLANKS`
  (``n/a``, ``N/A``, ``na``, ``-``, ``none``, ``null``).
- Coded values: the Ofsted templates prefix codes with a list letter (``"a) 1A: Individual"``,
  ``"p1) 5D: LA services"``, ``"b) No"``); :func:`strip_code_prefix` removes it.
- Dates (:func:`clean_date`): ``datetime``/``date`` cells, Excel serial numbers (1900 date
  system: serial 44090 is 2020-09-16, as Excel shows it) and ``DD/MM/YYYY`` or ``YYYY-MM-DD`` text.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from frontdoor.csvformat import (
    SAFE_DATETIME,
    SAFE_ID,
    ParseContext,
    parse_bool,
    parse_date,
    parse_source,
    shown,
)

#: Text that means "no value" in real Annex A returns.
BLANKS = frozenset(["", "n/a", "na", "-", "none", "null"])

# "a) ", "p1) ", "t) ": the list letter Ofsted puts before every coded value.
_PREFIX = re.compile(r"^\s*[A-Za-z]\d?\)\s*")
# Excel's 1900 date system counts from 1899-12-30 (it wrongly treats 1900 as a leap year,
# which only matters before March 1900: no Annex A date is that old).
_EXCEL_EPOCH = date(1899, 12, 30)
# Serials outside 1900-01-01 .. 2099-12-31 are not dates a return can hold.
_SERIAL_MIN, _SERIAL_MAX = 367, 73415
_CTX = ParseContext(tz=ZoneInfo("UTC"), team_ids=frozenset())


class BadValue(ValueError):
    """A cell that cannot be cleaned; ``str(exc)`` is a reason safe to print."""


def is_blank(value: object) -> bool:
    """True for an empty cell or a placeholder such as ``n/a``."""
    if value is None:
        return True
    return isinstance(value, str) and value.strip().lower() in BLANKS


def _text(value: object) -> str:
    # Names in the sample use non-breaking spaces; codes may too.
    return str(value).replace("\xa0", " ").strip()


def strip_code_prefix(text: str) -> str:
    """``"a) 1A: Individual"`` -> ``"1A: Individual"``; text without a prefix is unchanged."""
    return _PREFIX.sub("", text, count=1).strip()


def clean_id(value: object) -> str | None:
    """A child id: integral numbers lose their ``.0``; text must look like an id."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise BadValue("not a usable id (a boolean)")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _text(value)
    if not SAFE_ID.fullmatch(text):
        raise BadValue(f"not a usable id ({len(text)} characters, not shown)")
    return text


def clean_date(value: object) -> date | None:
    """A date from a date cell, an Excel serial or ``DD/MM/YYYY`` / ``YYYY-MM-DD`` text."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        # Annex A dates have no time of day; a time part is an artefact of the export.
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise BadValue("malformed date (a boolean)")
    if isinstance(value, int | float):
        return _serial(value)
    text = _text(value)
    if text.isdigit():
        return _serial(int(text))
    try:
        return parse_date(text, _CTX)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def _serial(number: float) -> date:
    if not float(number).is_integer() or not _SERIAL_MIN <= number <= _SERIAL_MAX:
        raise BadValue(
            f"malformed date {shown(str(number), SAFE_DATETIME)}: not an Excel date serial "
            "for 1901-2099"
        )
    return _EXCEL_EPOCH + timedelta(days=int(number))


def clean_bool(value: object) -> bool | None:
    """``a) Yes`` / ``b) No`` / ``Y`` / ``N`` / ``1`` / ``0`` (any case); blank is unknown."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = strip_code_prefix(_text(value))
    if text.lower() in BLANKS:
        return None
    try:
        return parse_bool(text, _CTX)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def clean_source(value: object) -> tuple[str | None, bool]:
    """(source code, recognised): ``"q) 6: Police"`` -> ``("6", True)``.

    A value that carries no known code (``"Police"``, ``"School"``) gives ``(None, False)``:
    the source is optional, so the row is kept and the caller counts the field as defaulted
    rather than losing the record from the volumes.
    """
    if is_blank(value):
        return None, True
    text = strip_code_prefix(_text(value))
    code = text.split(":", 1)[0].strip()
    try:
        return parse_source(code, _CTX), True
    except ValueError:
        return None, False
