"""The weekly report as typed tables (pure): the one model the HTML part, the text part and
the XLSX attachment are all written from, so the three cannot disagree.

A :class:`Table` is tidy: one row per team (plus a total row) or per list item, one column
per figure. Every :class:`Cell` carries both its typed ``value`` (an ``int``, a
:class:`~frontdoor.weekly_figures.Ratio`, an ``int`` change, an aware ``datetime`` or a
``str``) and the ``text`` people read, made once here by the ``*_cell`` functions. The
templates print ``text``; the XLSX writer (:mod:`frontdoor.report_xlsx`) writes ``value``
(a ratio as three numbers: percentage, numerator, denominator).

Percentages are rounded half up to whole numbers for reading (:func:`whole_percent`) and
kept exact in the XLSX. A ratio with a denominator of 0 reads ``-`` (there was nothing to
measure), never ``0%``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from frontdoor.weekly_figures import Ratio

#: How a column's values are typed (and, in the XLSX, laid out): ``ratio`` and ``figure``
#: (a ratio or a count, row by row) take three spreadsheet columns (value, numerator,
#: denominator), every other kind one.
ColumnKind = Literal["text", "count", "ratio", "figure", "change", "when"]

NO_VALUE = "-"


@dataclass(frozen=True)
class Column:
    """A column: its header, its kind and, for the XLSX, an optional width in characters."""

    header: str
    kind: ColumnKind
    width: int | None = None


@dataclass(frozen=True)
class Cell:
    """One value. ``text`` is what the HTML and text parts print; ``main`` and ``sub`` split it
    into a bold figure and a small "n of d" line for HTML tables (``sub`` empty when none);
    ``href`` links the cell (case-system links; None without one)."""

    value: int | Ratio | datetime | str | None
    text: str
    main: str
    sub: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Table:
    """A titled table. ``sheet`` is its XLSX sheet name (at most 31 characters, none of
    ``[]:*?/\\``); ``by_team`` tables have one row per team and a ``total`` row, and the
    HTML and text parts show them turned round (one line per figure, one column per team);
    list tables (``by_team`` False) are shown as they are. ``empty`` is what to say when
    there are no rows."""

    sheet: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None
    by_team: bool = False
    note: str = ""
    empty: str = "None."
    #: The most rows of a list table the e-mail shows (None: all); the XLSX has every row.
    shown_limit: int | None = None

    def __post_init__(self) -> None:
        if len(self.sheet) > 31 or any(ch in self.sheet for ch in "[]:*?/\\"):
            raise ValueError(f"not a valid sheet name: {self.sheet!r}")
        width = len(self.columns)
        for row in (*self.rows, *((self.total,) if self.total is not None else ())):
            if len(row) != width:
                raise ValueError(f"table {self.sheet!r}: a row has {len(row)} cells, not {width}")

    @property
    def all_rows(self) -> tuple[tuple[Cell, ...], ...]:
        """The rows, then the total row when there is one."""
        return self.rows + ((self.total,) if self.total is not None else ())

    @property
    def shown_rows(self) -> tuple[tuple[Cell, ...], ...]:
        """The rows the HTML and text parts show: all of them, or the first ``shown_limit``
        rows of a list table (then the total row, if any)."""
        if self.shown_limit is None or len(self.rows) <= self.shown_limit:
            return self.all_rows
        return self.rows[: self.shown_limit] + ((self.total,) if self.total is not None else ())

    @property
    def hidden(self) -> int:
        """How many rows the e-mail leaves out (they are in the XLSX)."""
        if self.shown_limit is None:
            return 0
        return max(0, len(self.rows) - self.shown_limit)

    def turned(self) -> tuple[tuple[Column, tuple[Cell, ...]], ...]:
        """For ``by_team`` tables: each figure column (every column but the first, which
        names the team) with its cells, one per row including the total."""
        rows = self.all_rows
        return tuple((col, tuple(r[i] for r in rows)) for i, col in enumerate(self.columns) if i)


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: a label, the width in whole percent (0-100; None: nothing to
    measure) and the figure as text."""

    label: str
    percent: int | None
    text: str


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart of percentages (drawn with table cells, so Outlook shows it)."""

    title: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Section:
    """A part of the report: a heading, an optional line of explanation, charts and tables."""

    title: str
    intro: str
    charts: tuple[Chart, ...]
    tables: tuple[Table, ...]


def whole_percent(ratio: Ratio) -> int | None:
    """``100 * n / d`` rounded half up, in integers (so 0.5% steps never depend on float
    rounding); None when the denominator is 0."""
    n, d = ratio.numerator, ratio.denominator
    if d == 0:
        return None
    return (200 * n + d) // (2 * d)


def percent_text(ratio: Ratio) -> str:
    """``"85%"``, or ``"-"`` when there was nothing to measure."""
    p = whole_percent(ratio)
    return NO_VALUE if p is None else f"{p}%"


def ratio_cell(ratio: Ratio) -> Cell:
    """``85% (17/20)``; the HTML shows ``85%`` over ``17 of 20``."""
    main = percent_text(ratio)
    return Cell(
        ratio,
        f"{main} ({ratio.numerator}/{ratio.denominator})",
        main,
        f"{ratio.numerator} of {ratio.denominator}",
    )


def count_cell(n: int | None) -> Cell:
    """A count; ``-`` for None (not computed)."""
    if n is None:
        return Cell(None, NO_VALUE, NO_VALUE)
    return Cell(n, str(n), str(n))


def text_cell(value: str, href: str | None = None) -> Cell:
    return Cell(value, value, value, href=href)


def when_cell(value: datetime | None, tz: tzinfo) -> Cell:
    """A local date and time, ``2026-11-16 09:30`` (sortable; the zone is in the report's
    header); ``-`` for None."""
    if value is None:
        return Cell(None, NO_VALUE, NO_VALUE)
    text = f"{value.astimezone(tz):%Y-%m-%d %H:%M}"
    return Cell(value, text, text)


def point_change(now: Ratio, before: Ratio) -> Cell:
    """The change in whole percentage points between two ratios: ``+5 pts``, ``-12 pts``,
    ``no change``; ``-`` when either has nothing to measure. It is the difference of the two
    rounded percentages (``value`` too), so it always agrees with the two figures printed
    beside it."""
    a, b = whole_percent(now), whole_percent(before)
    if a is None or b is None:
        return Cell(None, NO_VALUE, NO_VALUE)
    diff = a - b
    text = "no change" if diff == 0 else f"{diff:+d} pts"
    return Cell(diff, text, text)


def count_change(now: int | None, before: int | None) -> Cell:
    """The change between two counts: ``+3``, ``-2``, ``no change``; ``-`` if either is
    None."""
    if now is None or before is None:
        return Cell(None, NO_VALUE, NO_VALUE)
    diff = now - before
    text = "no change" if diff == 0 else f"{diff:+d}"
    return Cell(diff, text, text)


def chart(title: str, labels: Sequence[str], ratios: Sequence[Ratio]) -> Chart:
    """A bar per label; each bar's text is the ratio cell's text."""
    return Chart(
        title,
        tuple(
            Bar(label, whole_percent(r), ratio_cell(r).text)
            for label, r in zip(labels, ratios, strict=True)
        ),
    )
