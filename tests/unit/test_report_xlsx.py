"""The weekly report's XLSX attachment, read back with openpyxl."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any
from zipfile import ZipFile
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from frontdoor.report_tables import Cell, Column, Table, text_cell, when_cell
from frontdoor.report_xlsx import XLSX_MIME, workbook_bytes
from frontdoor.weekly_figures import Ratio
from frontdoor.weekly_view import ReportView, build_report_view
from tests.weekly_sample import CASE_URLS, GENERATED, LONDON, RULES, sample_report

HEADER_ROW = 3


def make_view(*, breaches: bool = True) -> ReportView:
    return build_report_view(
        sample_report(breaches=breaches), rules=RULES, tz=LONDON, case_urls=CASE_URLS
    )


def load(view: ReportView) -> Any:
    return openpyxl.load_workbook(BytesIO(workbook_bytes(view, LONDON, created=GENERATED)))


@pytest.fixture(scope="module")
def view() -> ReportView:
    return make_view()


@pytest.fixture(scope="module")
def book(view: ReportView) -> Any:
    return load(view)


def expected_headers(table: Table) -> list[str]:
    out: list[str] = []
    for c in table.columns:
        if c.kind in ("ratio", "figure"):
            first = f"{c.header} %" if c.kind == "ratio" else c.header  # figure: % or count
            out += [first, f"{c.header} numerator", f"{c.header} denominator"]
        else:
            out.append(c.header)
    return out


def placed(table: Table) -> list[tuple[Column, int]]:
    """Each column with its first spreadsheet column (1-based)."""
    out, col = [], 1
    for c in table.columns:
        out.append((c, col))
        col += 3 if c.kind in ("ratio", "figure") else 1
    return out


def sheet_cells(view: ReportView, book: Any) -> list[tuple[Table, Column, Cell, Any, int, int]]:
    """Every (table, column, cell, sheet, row, first column) of every table sheet."""
    out = []
    for table in view.tables:
        ws = book[table.sheet]
        for r, cells in enumerate(table.all_rows, start=HEADER_ROW + 1):
            for (column, col), cell in zip(placed(table), cells, strict=True):
                out.append((table, column, cell, ws, r, col))
    return out


def header_col(ws: Any, header: str) -> int:
    row = [c.value for c in ws[HEADER_ROW]]
    return row.index(header) + 1


def row_of(ws: Any, first: str) -> int:
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value == first:
            return r
    raise AssertionError(f"no row {first!r} in {ws.title}")


def test_mime_type() -> None:
    assert "/".join(XLSX_MIME) == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


def test_sheets_in_view_order(view: ReportView, book: Any) -> None:
    assert book.sheetnames == ["About", *(t.sheet for t in view.tables)]


def test_about_sheet(view: ReportView, book: Any) -> None:
    ws = book["About"]
    assert ws["A1"].value == view.heading
    assert ws["A1"].font.b
    texts = [ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)]
    for line in (view.week_label, view.period, view.timezone, view.generated):
        assert line in texts
    teams = [texts.index(label) for label in view.team_labels]
    assert teams == list(range(teams[0], teams[0] + len(view.team_labels)))  # one per row
    for line in (*view.definitions, *view.rule_lines):
        assert line in texts
    assert any("local times in Europe/London" in (t or "") for t in texts)


def test_table_layout(view: ReportView, book: Any) -> None:
    for table in view.tables:
        ws = book[table.sheet]
        assert ws["A1"].value == table.title
        assert ws["A1"].font.b
        assert ws["A2"].value == (table.note or None)
        assert [c.value for c in ws[HEADER_ROW]] == expected_headers(table)
        assert all(c.font.b for c in ws[HEADER_ROW])
        assert ws.freeze_panes == "A4"
        assert ws.max_row == HEADER_ROW + len(table.all_rows)
        if table.total is not None:
            assert all(c.font.b for c in ws[ws.max_row])
        assert not ws.cell(row=HEADER_ROW + 1, column=1).font.b


def test_contacts_headers_expanded(book: Any) -> None:
    headers = [c.value for c in book["Contacts"][HEADER_ROW]]
    assert headers[:6] == [
        "Team",
        "Received",
        "Outcome within 24 hours %",
        "Outcome within 24 hours numerator",
        "Outcome within 24 hours denominator",
        "Breaches",
    ]


def test_autofilter_on_list_tables_only(view: ReportView, book: Any) -> None:
    for table in view.tables:
        ws = book[table.sheet]
        if table.by_team:
            assert ws.auto_filter.ref is None
        else:
            last = get_column_letter(len(expected_headers(table)))
            assert ws.auto_filter.ref == f"A3:{last}{HEADER_ROW + len(table.rows)}"


def test_column_widths(book: Any) -> None:
    ws = book["Breaches"]
    assert ws.column_dimensions["A"].width == 26  # Column.width
    contacts = book["Contacts"]
    widths = [contacts.column_dimensions[c].width for c in "BCDE"]
    headers = [contacts.cell(row=HEADER_ROW, column=c).value for c in range(2, 6)]
    assert widths == [min(max(len(h) + 2, 10), 40) for h in headers]
    assert widths[0] == 10
    for ws in book.worksheets[1:]:
        for dim in ws.column_dimensions.values():
            assert 10 <= dim.width <= 48


def test_every_ratio_cell(view: ReportView, book: Any) -> None:
    seen = 0
    for _, column, cell, ws, r, col in sheet_cells(view, book):
        if not isinstance(cell.value, Ratio):
            continue
        seen += 1
        assert column.kind in ("ratio", "figure")
        pct, num, den = (ws.cell(row=r, column=col + i) for i in range(3))
        n, d = cell.value.numerator, cell.value.denominator
        assert type(num.value) is int
        assert type(den.value) is int
        assert (num.value, den.value) == (n, d)
        if d:
            assert pct.value == pytest.approx(n / d)
            assert pct.number_format == "0.0%"
        else:
            assert pct.value is None
    assert seen > 50


def test_empty_percent_when_nothing_to_measure(book: Any) -> None:
    ws = book["S47 and ICPC"]
    r = row_of(ws, "DAT-B Duty and Advice B")
    col = header_col(ws, "ICPC within 15 working days %")
    assert [ws.cell(row=r, column=col + i).value for i in range(3)] == [None, 0, 0]
    a = row_of(ws, "DAT-A Duty and Advice A")
    assert ws.cell(row=a, column=col).value == pytest.approx(2 / 3)


def test_counts_and_changes_are_ints(view: ReportView, book: Any) -> None:
    kinds: set[str] = set()
    for _, column, cell, ws, r, col in sheet_cells(view, book):
        target = ws.cell(row=r, column=col)
        if column.kind == "count" or (column.kind == "figure" and isinstance(cell.value, int)):
            kinds.add(column.kind)
            assert type(target.value) is int
            assert target.value == cell.value
        if column.kind == "figure" and isinstance(cell.value, int):
            assert ws.cell(row=r, column=col + 1).value is None
            assert ws.cell(row=r, column=col + 2).value is None
        if column.kind == "change":
            kinds.add(column.kind)
            assert target.value == cell.value
            assert target.value is None or type(target.value) is int
            assert target.number_format == "+0;-0;0"
    assert kinds == {"count", "figure", "change"}


def test_summary_count_row(book: Any) -> None:
    ws = book["Summary"]
    r = row_of(ws, "Contacts received")
    now = sample_report().current.total.contacts_received
    before = sample_report().previous.total.contacts_received
    row = [ws.cell(row=r, column=c).value for c in range(1, 9)]
    assert row == ["Contacts received", now, None, None, before, None, None, now - before]


def test_when_cells_are_local_naive(view: ReportView, book: Any) -> None:
    seen = 0
    for _, column, cell, ws, r, col in sheet_cells(view, book):
        if column.kind != "when":
            continue
        target = ws.cell(row=r, column=col)
        if cell.value is None:
            assert target.value is None
            continue
        assert isinstance(cell.value, datetime)
        seen += 1
        assert isinstance(target.value, datetime)
        assert target.value == cell.value.astimezone(LONDON).replace(tzinfo=None)
        assert target.number_format == "yyyy-mm-dd hh:mm"
    assert seen >= 5


def test_when_in_summer_time_is_shifted(view: ReportView) -> None:
    summer = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)  # 12:30 BST
    table = view.appendix[0]
    first = (*table.rows[0][:4], when_cell(summer, LONDON), *table.rows[0][5:])
    changed = replace(view, appendix=(replace(table, rows=(first,)), view.appendix[1]))
    ws = load(changed)["Breaches"]
    assert ws["E4"].value == datetime(2026, 7, 1, 12, 30)


def test_contacts_total_row(book: Any) -> None:
    ws = book["Contacts"]
    total = sample_report().current.total
    r = row_of(ws, "Total")
    assert r == ws.max_row
    row = [ws.cell(row=r, column=c).value for c in range(1, 12)]
    t = total.contact_timely
    assert row == [
        "Total",
        total.contacts_received,
        pytest.approx(t.numerator / t.denominator),
        t.numerator,
        t.denominator,
        total.breaches,
        total.breaches_with_rationale,
        total.breaches_without_rationale,
        total.open_contacts_24_48h,
        total.open_contacts_48_72h,
        total.open_contacts_over_72h,
    ]
    assert all(ws.cell(row=r, column=c).font.b for c in range(1, 12))


def test_case_links(book: Any) -> None:
    ws = book["Breaches"]
    r = row_of(ws, "contact-outcome-24h")
    cell = ws.cell(row=r, column=2)
    assert cell.value == "C-1001"
    assert cell.hyperlink.target == "https://case.example.org/contacts/C-1001"
    assert cell.style == "Hyperlink"
    assert ws.cell(row=r, column=3).hyperlink is None


INJECTIONS = ('=HYPERLINK("https://evil.example","click")', "+1+2", "-3", "@SUM(A1)", "#N/A")


def test_no_formula_injection(view: ReportView) -> None:
    table = view.appendix[0]
    rows = tuple((text_cell(bad), *table.rows[0][1:]) for bad in INJECTIONS)
    changed = replace(view, appendix=(replace(table, rows=rows), view.appendix[1]))
    data = workbook_bytes(changed, LONDON, created=GENERATED)
    ws = openpyxl.load_workbook(BytesIO(data))["Breaches"]
    for r, bad in enumerate(INJECTIONS, start=HEADER_ROW + 1):
        assert ws.cell(row=r, column=1).value == bad
        assert ws.cell(row=r, column=1).data_type == "s"
    with ZipFile(BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)


def test_illegal_characters_are_replaced(view: ReportView) -> None:
    table = view.appendix[0]
    rows = ((text_cell("C-\x0b1"), *table.rows[0][1:]),)
    changed = replace(view, appendix=(replace(table, rows=rows), view.appendix[1]))
    assert load(changed)["Breaches"]["A4"].value == "C-\ufffd1"


def test_empty_list_table(view: ReportView) -> None:
    empty = make_view(breaches=False)
    ws = load(empty)["Breaches"]
    table = empty.appendix[0]
    assert ws["A2"].value == f"{table.note} {table.empty}"
    assert ws.max_row == HEADER_ROW
    assert ws.auto_filter.ref == "A3:H3"


def test_same_input_same_bytes(view: ReportView) -> None:
    first = workbook_bytes(view, LONDON, created=GENERATED)
    assert workbook_bytes(view, LONDON, created=GENERATED) == first
    later = workbook_bytes(view, LONDON, created=GENERATED + timedelta(hours=1))
    assert later != first


def test_document_times_are_naive_utc(view: ReportView) -> None:
    created = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    props = openpyxl.load_workbook(
        BytesIO(workbook_bytes(view, LONDON, created=created))
    ).properties
    assert props.created == datetime(2026, 11, 23, 8, 0)
    assert props.modified == datetime(2026, 11, 23, 8, 0)


def test_rejects_naive_created_and_wrong_zone(view: ReportView) -> None:
    with pytest.raises(ValueError, match="aware"):
        workbook_bytes(view, LONDON, created=datetime(2026, 11, 23, 8, 0))
    with pytest.raises(ValueError, match="Europe/Paris"):
        workbook_bytes(view, ZoneInfo("Europe/Paris"), created=GENERATED)


def test_rejects_duplicate_sheet_names(view: ReportView) -> None:
    clash = replace(view, appendix=(replace(view.appendix[0], sheet="about"), view.appendix[1]))
    with pytest.raises(ValueError, match="not unique"):
        workbook_bytes(clash, LONDON, created=GENERATED)


def test_rejects_a_value_of_the_wrong_kind(view: ReportView) -> None:
    table = view.appendix[0]
    rows = ((*table.rows[0][:4], text_cell("soon"), *table.rows[0][5:]),)
    changed = replace(view, appendix=(replace(table, rows=rows), view.appendix[1]))
    with pytest.raises(TypeError, match="Started"):
        workbook_bytes(changed, LONDON, created=GENERATED)


def test_a_working_day_due_moment_is_written_to_the_minute_as_printed() -> None:
    # 23:59:59.999999 local: a spreadsheet would round the exact value up to 00:00 the next
    # day, while the e-mail prints 23:59.
    data = sample_report()
    end_of_day = datetime(2026, 11, 17, 23, 59, 59, 999999, tzinfo=UTC)
    line = replace(data.breaches[0], rule_id="referral-decision-1wd", due_at=end_of_day)
    view = build_report_view(
        replace(data, breaches=(line,)), rules=RULES, tz=LONDON, case_urls=CASE_URLS
    )
    book = openpyxl.load_workbook(BytesIO(workbook_bytes(view, LONDON, created=GENERATED)))
    sheet = book["Breaches"]
    headers = [c.value for c in sheet[3]]
    due = sheet.cell(row=4, column=headers.index("Due") + 1).value
    assert due == datetime(2026, 11, 17, 23, 59)
    assert view.appendix[0].rows[0][headers.index("Due")].text == "2026-11-17 23:59"
