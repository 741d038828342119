"""The weekly report's XLSX attachment (pure): :func:`workbook_bytes` writes a
:class:`~frontdoor.weekly_view.ReportView` as the bytes of an .xlsx file (openpyxl).

Contract:

* Sheets: ``About`` (heading, week, period, time zone, generated time, teams one per row,
  definitions, rule lines), then one sheet per table in ``view.tables`` order, named
  ``table.sheet``.
* A table sheet: row 1 the title (bold), row 2 the note (or what ``table.empty`` says when
  there are no rows), row 3 the headers (bold; panes frozen below them), the rows from row 4,
  then the total row (bold) when there is one. List tables (not ``by_team``) get an
  autofilter over the header and data rows.
* Values, never the display text: a ``ratio`` or ``figure`` column becomes three columns,
  ``<header> %`` (numerator / denominator as an exact fraction, format ``0.0%``; empty when
  the denominator is 0), ``<header> numerator`` and ``<header> denominator`` (ints); an int in
  a ``figure`` column (a count row of the summary) fills the first of the three only.
  ``count`` and ``change`` are ints (``change`` may be empty); ``when`` is the aware time
  converted to ``tz`` and made naive (Excel has no zones; the About sheet names the zone);
  ``text`` is a string, a hyperlink when the cell has an ``href``.
* No formulas, ever: every string is stored as a string (data type ``s``), so council data
  such as ``=HYPERLINK(...)`` cannot become a formula; characters XML cannot hold are
  replaced by U+FFFD.
* Deterministic: the document properties and every zip entry's time come from ``created``,
  so the same input gives the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from frontdoor.report_tables import Cell, Column, Table
from frontdoor.weekly_figures import Ratio
from frontdoor.weekly_view import ReportView

XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

ABOUT = "About"
PERCENT = "0.0%"
INTEGER = "0"
CHANGE = "+0;-0;0"
WHEN = "yyyy-mm-dd hh:mm"
HEADER_ROW = 3
MIN_WIDTH, MAX_WIDTH = 10, 40
_EXPANDED = ("ratio", "figure")
_BOLD = Font(bold=True)
_EARLIEST_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

#: One spreadsheet cell: its value and number format (None: the default).
Out = tuple[int | float | datetime | str | None, str | None]


def headers(column: Column) -> tuple[str, ...]:
    """The spreadsheet headers of a column: three for ``ratio`` and ``figure``, else one. A
    ``figure`` column holds a percentage in some rows and a count in others, so its first
    header says neither."""
    if column.kind in _EXPANDED:
        h = column.header
        first = f"{h} %" if column.kind == "ratio" else h
        return (first, f"{h} numerator", f"{h} denominator")
    return (column.header,)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime in the report: {value!r}")
    # To the minute, as the HTML and text parts print it: a working-day due moment is
    # 23:59:59.999999 local, which a spreadsheet would round up to 00:00 the next day.
    return value.astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)


def _values(column: Column, cell: Cell, tz: ZoneInfo) -> tuple[Out, ...]:
    """What a cell of ``column`` becomes: one (value, format) per spreadsheet column."""
    v, kind = cell.value, column.kind
    if kind in _EXPANDED:
        if isinstance(v, Ratio):
            n, d = v.numerator, v.denominator
            return ((n / d if d else None, PERCENT), (n, INTEGER), (d, INTEGER))
        if kind == "figure" and isinstance(v, int):
            return ((v, INTEGER), (None, None), (None, None))
        if v is None:
            return ((None, None),) * 3
    elif kind in ("count", "change") and (v is None or isinstance(v, int)):
        return ((v, INTEGER if kind == "count" else CHANGE),)
    elif kind == "when" and (v is None or isinstance(v, datetime)):
        return ((None if v is None else _local(v, tz), WHEN),)
    elif kind == "text" and (v is None or isinstance(v, str)):
        return ((v, None),)
    # The type only, never the value: exception messages reach the logs.
    raise TypeError(f"column {column.header!r} ({kind}) cannot hold a {type(v).__name__}")


def _put(ws: Any, row: int, col: int, value: object, *, bold: bool = False) -> Any:
    """Write one value; a string is always stored as a string, never as a formula."""
    target = ws.cell(row=row, column=col)
    if isinstance(value, str):
        target.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        target.data_type = "s"
    else:
        target.value = value
    if bold:
        target.font = _BOLD
    return target


def _write_row(
    ws: Any, row: int, table: Table, cells: tuple[Cell, ...], tz: ZoneInfo, *, bold: bool
) -> None:
    col = 1
    for column, cell in zip(table.columns, cells, strict=True):
        for value, fmt in _values(column, cell, tz):
            target = _put(ws, row, col, value)
            if fmt is not None:
                target.number_format = fmt
            if cell.href and column.kind == "text" and value is not None:
                target.hyperlink = cell.href
                target.style = "Hyperlink"
            if bold:
                target.font = _BOLD
            col += 1


def _table_sheet(wb: Any, table: Table, tz: ZoneInfo) -> None:
    ws = wb.create_sheet(table.sheet)
    _put(ws, 1, 1, table.title, bold=True)
    note = " ".join(t for t in (table.note, "" if table.rows else table.empty) if t)
    if note:
        _put(ws, 2, 1, note)
    col = 0
    for column in table.columns:
        for header in headers(column):
            col += 1
            _put(ws, HEADER_ROW, col, header, bold=True)
            width = column.width or min(max(len(header) + 2, MIN_WIDTH), MAX_WIDTH)
            ws.column_dimensions[get_column_letter(col)].width = width
    for i, cells in enumerate(table.rows, start=HEADER_ROW + 1):
        _write_row(ws, i, table, cells, tz, bold=False)
    last_data_row = HEADER_ROW + len(table.rows)
    if table.total is not None:
        _write_row(ws, last_data_row + 1, table, table.total, tz, bold=True)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    if not table.by_team:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(col)}{last_data_row}"


def _about_sheet(ws: Any, view: ReportView) -> None:
    ws.title = ABOUT
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 100
    _put(ws, 1, 1, view.heading, bold=True)
    lines: list[tuple[str, str]] = [
        ("Week", view.week_label),
        ("Period", view.period),
        ("Time zone", view.timezone),
        ("Generated", view.generated),
    ]
    lines += [("Teams" if i == 0 else "", label) for i, label in enumerate(view.team_labels)]
    lines += [
        ("", ""),
        ("Notes", f"Dates and times in this workbook are local times in {view.timezone}."),
        ("", "Percentages are exact (numerator / denominator); empty: nothing to measure."),
        ("", ""),
    ]
    lines += [("Definitions" if i == 0 else "", d) for i, d in enumerate(view.definitions)]
    lines += [("", "")]
    lines += [("Rules" if i == 0 else "", r) for i, r in enumerate(view.rule_lines)]
    for row, (label, text) in enumerate(lines, start=3):
        if label:
            _put(ws, row, 1, label, bold=True)
        if text:
            _put(ws, row, 2, text)


def _save(wb: Any, created: datetime) -> bytes:
    """The workbook's bytes, every zip entry stamped with ``created`` (naive UTC)."""
    raw = BytesIO()
    with ZipFile(raw, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    stamp = max(created.timetuple()[:6], _EARLIEST_ZIP_TIME)
    out = BytesIO()
    with ZipFile(raw) as src, ZipFile(out, "w", ZIP_DEFLATED, allowZip64=True) as dst:
        for info in src.infolist():
            entry = ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info))
    return out.getvalue()


def workbook_bytes(view: ReportView, tz: ZoneInfo, *, created: datetime) -> bytes:
    """The report as .xlsx bytes. ``tz`` must be the zone the view was built in (the About
    sheet and the text parts name it); ``created`` (aware) becomes the document's created
    and modified times, in naive UTC as the format wants."""
    if created.tzinfo is None:
        raise ValueError("created must be an aware datetime")
    if view.timezone != tz.key:
        raise ValueError(f"the view was built in {view.timezone}, not {tz.key}")
    names = [ABOUT, *(t.sheet for t in view.tables)]
    if len({n.casefold() for n in names}) != len(names):
        raise ValueError(f"sheet names are not unique: {names}")
    stamp = created.astimezone(UTC).replace(tzinfo=None)
    wb = Workbook()
    _about_sheet(wb.active, view)
    for table in view.tables:
        _table_sheet(wb, table, tz)
    wb.properties.creator = "frontdoor"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    return _save(wb, stamp)
