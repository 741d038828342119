"""The weekly report's e-mail templates (``templates/email/weekly-report-*``), rendered from the
sample in :mod:`tests.weekly_sample`; golden files in tests/golden/ (written only with
FRONTDOOR_UPDATE_GOLDEN=1, as in test_render.py).

The HTML tables are read back with :class:`html.parser.HTMLParser` and compared cell by cell
with the typed model (by-team tables turned round), the bar charts' cell widths with each
``Bar.percent``, and the text part's tables line by line with the cells' ``text``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest

from frontdoor.render import RenderedMessage, Renderer
from frontdoor.report_tables import Bar, Cell, Chart, Table
from frontdoor.report_xlsx import workbook_bytes
from frontdoor.rules import TimescaleRule
from frontdoor.weekly_view import ReportView, build_report_view
from tests.unit.test_render import TAG, check_golden
from tests.weekly_sample import CASE_URLS, GENERATED, LONDON, RULES, sample_report

REPO = Path(__file__).resolve().parents[2]
NUMERIC = ("count", "ratio", "figure", "change")


@pytest.fixture(name="renderer", scope="module")
def _renderer() -> Renderer:
    return Renderer(REPO / "templates")


def sample_view(*, breaches: bool = True) -> ReportView:
    return build_report_view(
        sample_report(breaches=breaches), rules=RULES, tz=LONDON, case_urls=CASE_URLS
    )


@pytest.fixture(name="view", scope="module")
def _view() -> ReportView:
    return sample_view()


@pytest.fixture(name="rendered", scope="module")
def _rendered(renderer: Renderer, view: ReportView) -> RenderedMessage:
    return renderer.render("weekly-report", view)


class _Report(HTMLParser):
    """Reads back the report tables (``<table class="rt">``: rows of cell texts), the bars
    (``<table class="bar">``: the class and width of each cell), the bars' labels and texts,
    every tag, the scope of every ``<th>``, every link and the text from the heading on."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scopes: list[str] = []
        self.hrefs: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.bars: list[list[tuple[str, int]]] = []
        self.bar_lines: list[tuple[str, str]] = []
        self.body: list[str] = []
        self._in_body = False
        self._in_rt = False
        self._cell: list[str] | None = None
        self._bar_part: str | None = None
        self._label = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "h1":
            self._in_body = True
        if tag == "th":
            self.scopes.append(values.get("scope") or "")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if tag == "table" and "rt" in classes:
            self._in_rt = True
            self.tables.append([])
        elif tag == "table" and "bar" in classes:
            self.bars.append([])
        elif self._in_rt and tag == "tr":
            self.tables[-1].append([])
        elif self._in_rt and tag in ("th", "td"):
            self._cell = []
        elif tag == "td" and {"bar-fill", "bar-rest"} & set(classes):
            self.bars[-1].append((classes[0], int((values.get("width") or "").rstrip("%"))))
        elif tag == "td" and {"bar-label", "bar-text"} & set(classes):
            self._bar_part = classes[0]
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_rt = False
        if tag not in ("th", "td") or self._cell is None:
            return
        text = " ".join(" ".join(self._cell).split())
        if self._in_rt:
            self.tables[-1][-1].append(text)
        elif self._bar_part == "bar-label":
            self._label = text
        elif self._bar_part == "bar-text":
            self.bar_lines.append((self._label, text))
        self._cell = None
        self._bar_part = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_body:
            self.body.append(data)


def parse(html: str) -> _Report:
    parser = _Report()
    parser.feed(html)
    parser.close()
    return parser


def flat(text: str) -> str:
    """``text`` with every run of whitespace (non-breaking spaces too) as one space."""
    return " ".join(text.split())


def html_cell(cell: Cell) -> str:
    """What a cell reads in the HTML: the main figure, then the small line under it."""
    return f"{cell.main} {cell.sub}" if cell.sub else cell.main


def html_grid(table: Table) -> list[list[str]]:
    """The rows the HTML shows for ``table``: by-team tables turned round (a blank corner,
    then the team names and Total across the top, one row per figure)."""
    if table.by_team:
        head = ["", *(html_cell(row[0]) for row in table.all_rows)]
        body = [[col.header, *map(html_cell, cells)] for col, cells in table.turned()]
        return [head, *body]
    return [
        [col.header for col in table.columns],
        *([html_cell(c) for c in row] for row in table.all_rows),
    ]


def text_grid(table: Table) -> tuple[list[list[str]], list[bool]]:
    """The rows of cell texts the text part lays out for ``table`` and, per column, whether
    it is right-aligned (the figures)."""
    if table.by_team:
        rows = [[col.header, *(c.text for c in cells)] for col, cells in table.turned()]
        return rows, [False] + [True] * len(table.all_rows)
    rows = [[c.text for c in row] for row in table.all_rows]
    return rows, [col.kind in NUMERIC for col in table.columns]


def all_charts(view: ReportView) -> list[Chart]:
    return [c for s in (*view.sections, view.trend) for c in s.charts]


def test_sample_matches_its_golden_files(rendered: RenderedMessage) -> None:
    check_golden("weekly-report.subject.txt", rendered.subject + "\n")
    check_golden("weekly-report.body.txt", rendered.text)
    check_golden("weekly-report.body.html", rendered.html)


def test_subject_is_the_views_subject(rendered: RenderedMessage, view: ReportView) -> None:
    assert rendered.subject == view.subject
    assert rendered.subject.startswith("Weekly report 2026-W47: ")


def test_text_part_holds_every_cell_of_every_table(
    rendered: RenderedMessage, view: ReportView
) -> None:
    assert len(view.tables) == 10
    for table in view.tables:
        assert table.title in rendered.text
        for row in table.all_rows:
            for cell in row:
                assert cell.text in rendered.text, (table.sheet, cell.text)
            for cell in row:
                if cell.href:
                    assert f"{cell.text}: {cell.href}" in rendered.text


def test_html_holds_every_cell_main_and_sub_escaped(
    rendered: RenderedMessage, view: ReportView
) -> None:
    subs = 0
    for table in view.tables:
        for row in table.all_rows:
            for cell in row:
                assert cell.main in rendered.html, (table.sheet, cell.main)
                if cell.sub:
                    subs += 1
                    assert f">{cell.sub}</span>" in rendered.html, (table.sheet, cell.sub)
    assert subs > 50


def test_html_tables_are_the_model_tables_by_team_ones_turned_round(
    rendered: RenderedMessage, view: ReportView
) -> None:
    shown = [t for t in view.tables if t.by_team or t.rows]
    assert parse(rendered.html).tables == [html_grid(t) for t in shown]
    contacts = html_grid(view.sections[0].tables[0])
    assert contacts[0] == ["", "DAT-A Duty and Advice A", "DAT-B Duty and Advice B", "Total"]
    assert contacts[2] == [
        "Outcome within 24 hours",
        "95% 41 of 43",
        "91% 41 of 45",
        "93% 82 of 88",
    ]


def test_html_tables_have_real_headers_and_notes(
    rendered: RenderedMessage, view: ReportView
) -> None:
    """Column headers: a list's columns, a turned table's teams and Total; row headers: a
    list's first cells, a turned table's figures."""
    scopes = parse(rendered.html).scopes
    columns = sum(len(t.columns) for t in view.tables if not t.by_team and t.rows)
    teams = sum(len(t.all_rows) for t in view.tables if t.by_team)
    rows = sum(len(t.all_rows) for t in view.tables if not t.by_team)
    figures = sum(len(t.columns) - 1 for t in view.tables if t.by_team)
    assert scopes.count("col") == columns + teams == 25 + 18
    assert scopes.count("row") == rows + figures
    assert len(scopes) == scopes.count("col") + scopes.count("row")
    notes = [t.note for t in view.tables if t.note]
    assert notes
    for note in notes:
        assert f">{note}</p>" in rendered.html
        assert flat(note) in flat(rendered.text)


def test_text_tables_are_aligned_under_their_rules(
    rendered: RenderedMessage, view: ReportView
) -> None:
    """Each table's rows are consecutive lines under a rule of dashes, one run per column;
    a left-aligned cell starts where its run starts, a right-aligned one ends where it ends."""
    lines = rendered.text.splitlines()
    for table in view.tables:
        if not table.rows and not table.by_team:
            continue
        rows, right = text_grid(table)
        patterns = [re.compile(r" {2,}".join(map(re.escape, row)) + r" *") for row in rows]
        starts = [
            i
            for i in range(1, len(lines) - len(rows) + 1)
            if all(p.fullmatch(lines[i + k]) for k, p in enumerate(patterns))
        ]
        assert starts, table.sheet
        start = starts[0]
        runs = [m.span() for m in re.finditer(r"-+", lines[start - 1])]
        assert re.fullmatch(r"-+(  -+)*", lines[start - 1]), table.sheet
        assert len(runs) == len(right), table.sheet
        for k, row in enumerate(rows):
            line = lines[start + k]
            assert line == line.rstrip()
            for text, (a, b), is_right in zip(row, runs, right, strict=True):
                assert len(text) <= b - a
                if is_right:
                    assert line[b - len(text) : b] == text, (table.sheet, text)
                else:
                    assert line[a : a + len(text)] == text, (table.sheet, text)


def test_html_is_outlook_safe(rendered: RenderedMessage) -> None:
    html = rendered.html
    tags = set(parse(html).tags)
    assert not {"img", "script", "style", "link", "iframe", "svg"} & tags
    assert "<style" not in html
    assert "url(" not in html
    assert "background-image" not in html
    assert not re.search(r"display:\s*(flex|grid)", html)
    assert "max-width: 600px" in html
    sizes = [int(px) for px in re.findall(r"font-size: (\d+)px", html)]
    assert min(sizes) >= 14


def test_bars_are_as_wide_as_their_percent(rendered: RenderedMessage, view: ReportView) -> None:
    parsed = parse(rendered.html)
    bars = [b for c in all_charts(view) for b in c.bars]
    assert len(bars) == 5 * 3 + 2 * 12
    assert len(parsed.bars) == len(bars)
    for bar, cells in zip(bars, parsed.bars, strict=True):
        if bar.percent is None:
            assert cells == [("bar-rest", 100)]
        else:
            assert cells == [("bar-fill", bar.percent), ("bar-rest", 100 - bar.percent)]
        assert sum(width for _, width in cells) == 100
    assert parsed.bar_lines == [(b.label, b.text) for b in bars]
    nothing = [b for b in bars if b.percent is None]
    assert len(nothing) == 1
    assert nothing[0].text.startswith("- ")
    assert rendered.html.count('bgcolor="#1d70b8"') == len(bars) - 1
    assert rendered.html.count('height="16"') == 2 * len(bars) - 1


def test_empty_and_full_bars_have_one_cell(renderer: Renderer, view: ReportView) -> None:
    edges = Chart("Edge cases", (Bar("none", 0, "0% (0/4)"), Bar("all", 100, "100% (4/4)")))
    odd = replace(view, trend=replace(view.trend, charts=(edges,)))
    rendered = renderer.render("weekly-report", odd)
    assert parse(rendered.html).bars[-2:] == [[("bar-rest", 100)], [("bar-fill", 100)]]
    assert "  none  ....................  0% (0/4)" in rendered.text
    assert "  all   ####################  100% (4/4)" in rendered.text


def test_text_bars_are_drawn_one_hash_per_five_percent(rendered: RenderedMessage) -> None:
    assert "  DAT-A  ###################.  95% (41/43)" in rendered.text
    assert "  DAT-B  ....................  - (0/0)" in rendered.text
    assert "  2026-W36 (31 Aug)  #####...............  25% (2/8)" in rendered.text


def test_parts_follow_the_report_order(rendered: RenderedMessage, view: ReportView) -> None:
    markers = [
        view.heading,
        view.period,
        f"Times are {view.timezone}",
        view.recipient_name,
        view.team_labels[-1],
        f"Generated {view.generated}",
        view.summary.title,
        *(s.intro for s in view.sections),
        view.trend.title,
        view.trend.intro,
        *(t.title for t in view.appendix),
        "How these figures are counted",
        *view.definitions,
        *view.rule_lines,
        "The attached spreadsheet (XLSX) holds every table of this report as a sheet.",
    ]
    for body in (flat(" ".join(parse(rendered.html).body)), flat(rendered.text)):
        at = 0
        for marker in markers:
            found = body.find(flat(marker), at)
            assert found >= 0, marker
            at = found + 1


def test_text_part_is_plain_text(rendered: RenderedMessage) -> None:
    text = rendered.text
    assert not TAG.search(text), TAG.search(text)
    assert "&amp;" not in text
    assert "&#" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "\n\n\n\n" not in text


def test_a_week_without_breaches_says_so(renderer: Renderer) -> None:
    view = sample_view(breaches=False)
    breaches = view.appendix[0]
    assert not breaches.rows
    rendered = renderer.render("weekly-report", view)
    assert '<p class="rt-empty"' in rendered.html
    assert f">{breaches.empty}</p>" in rendered.html
    assert f"\n{breaches.empty}\n" in rendered.text
    headers = [c.header for c in breaches.columns]
    assert headers not in [rows[0] for rows in parse(rendered.html).tables]
    assert not re.search(rf"^{headers[0]} +{headers[1]}", rendered.text, re.MULTILINE)
    full = renderer.render("weekly-report", sample_view())
    assert breaches.empty not in full.text
    assert breaches.empty not in full.html


def test_html_is_escaped_and_text_is_verbatim(renderer: Renderer, view: ReportView) -> None:
    link = "https://case.example.org/c?id=1&team=<A>"
    cell = Cell("C-<1>", "C-<1>", "C-<1>", "sub <i>x</i>", href=link)
    breaches = view.appendix[0]
    row = (breaches.rows[0][0], cell, *breaches.rows[0][2:])
    odd = replace(
        view,
        recipient_name="Jo <b>Reed</b> & co",
        team_labels=("DAT-A <b>bold</b>", "DAT-B"),
        appendix=(replace(breaches, rows=(row,)), *view.appendix[1:]),
    )
    rendered = renderer.render("weekly-report", odd)
    html = rendered.html
    assert "Jo &lt;b&gt;Reed&lt;/b&gt; &amp; co" in html
    assert "DAT-A &lt;b&gt;bold&lt;/b&gt;" in html
    assert "C-&lt;1&gt;" in html
    assert "sub &lt;i&gt;x&lt;/i&gt;" in html
    parsed = parse(html)
    assert not {"b", "i"} & set(parsed.tags)
    assert link in parsed.hrefs
    assert "Jo <b>Reed</b> & co" in rendered.text
    assert "DAT-A <b>bold</b>" in rendered.text
    assert f"C-<1>: {link}" in rendered.text


def test_a_long_breach_list_is_cut_in_the_e_mail_and_kept_whole_in_the_xlsx(
    renderer: Renderer, view: ReportView
) -> None:
    breaches = view.appendix[0]
    assert len(breaches.rows) == 3
    cut = replace(breaches, shown_limit=2)
    assert cut.hidden == 1
    assert cut.shown_rows == breaches.rows[:2]
    changed = replace(view, appendix=(cut, *view.appendix[1:]))
    out = renderer.render("weekly-report", changed)
    last = breaches.rows[2][1].text  # the record id of the row left out
    first = breaches.rows[0][1].text
    for part in (out.text, out.html):
        assert first in part
        assert last not in part
    assert "1 more not shown here." in flat(out.text)
    assert "1 more not shown here." in out.html
    book = openpyxl.load_workbook(BytesIO(workbook_bytes(changed, LONDON, created=GENERATED)))
    sheet = book[breaches.sheet]
    records = [sheet.cell(row=r, column=2).value for r in range(4, sheet.max_row + 1)]
    assert last in records
    assert len(records) == 3


def test_labels_state_the_configured_timescales() -> None:
    hours = TimescaleRule.model_validate(
        {"id": "contact-8wh", "kind": "timescale", "record": "contact",
         "clock": "working-hours", "limit": 8}
    )  # fmt: skip
    rules = [hours, *(r for r in RULES if r.record != "contact")]
    view = build_report_view(sample_report(), rules=rules, tz=LONDON, case_urls=CASE_URLS)
    assert "of contacts within 8 working hours" in view.subject
    assert view.summary.rows[0][0].text == "Contacts with an outcome within 8 working hours"
    headers = [c.header for t in view.tables for c in t.columns]
    assert "Outcome within 8 working hours" in headers
    assert not any("24 hours" in h for h in headers)
    assert "ICPC within 15 working days" in headers  # the default ICPC rule
