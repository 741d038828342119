"""Idempotent import of an Ofsted Annex A workbook (Lists 1, 3, 4 and 5); see docs/annex-a.md.

Contract:

- The workbook is read with openpyxl in read-only mode. Each list's sheet is found by name
  ("List 1", "List1", "List_1", "list 1 - contacts": letters and digits after "list", any case
  and spacing) and its header row by its column names within the first rows (templates put a
  title row above the headers; exports often do not).
- List 1 -> contacts, List 3 -> referrals, List 4 -> assessments (linked to the child's latest
  List 3 referral on or before the assessment start), List 5 -> S47 enquiries. Annex A has no
  record ids, no times and no team, so ids are derived (``AA-{child}-{C|R|A|S}{YYYYMMDD}-{n}``,
  ``n`` counting the child's rows with that date in sheet order), times are 00:00 local, and
  every record gets ``team_id``.
- Contacts and referrals are stored as *completed on receipt* (``outcome_at`` /
  ``decision_at`` = ``received_at``, contacts with outcome :data:`ANNEX_A_OUTCOME`): Annex A
  says nothing about when a decision was made, and an empty completion would make every
  imported contact a false 24-hour breach. They are marked ``untimed``, so the weekly
  report counts them in volumes and sources and leaves them out of timeliness.
- Rows are written through :class:`~frontdoor.upsert.BatchWriter` (insert, update, unchanged),
  so importing the same workbook again changes nothing. A row that cannot be mapped is an
  :class:`AnnexReject` naming the file, sheet, row, column and reason; no cell text that
  could be free text (names, addresses) is ever copied into a message.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zipfile import BadZipFile
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import Engine

from frontdoor.annex_a_values import BadValue, clean_bool, clean_date, clean_id, clean_source
from frontdoor.clock import NonExistentLocalTime, localize
from frontdoor.csvformat import FILE_SPECS, SAFE_ID
from frontdoor.db import analyze
from frontdoor.errors import FileRefused
from frontdoor.import_report import (
    ImportSummary,
    KeepsRejects,
    PendingRow,
    RejectsFile,
    RejectSink,
)
from frontdoor.importer import require_team
from frontdoor.upsert import BatchWriter

#: Contract kinds filled from Annex A, in write order (assessments reference referrals).
KINDS = ("contacts", "referrals", "assessments", "s47")
LIST_NO = {"contacts": 1, "referrals": 3, "assessments": 4, "s47": 5}
#: The outcome text of every Annex A contact: it has no outcome data (see the module doc).
ANNEX_A_OUTCOME = "Annex A import: no outcome data"
#: The extra column marking contacts and referrals stored completed on receipt.
UNTIMED = ("untimed",)
#: The id prefix that marks every record made from Annex A.
ID_PREFIX = "AA-"
_ID_LETTER = {"contacts": "C", "referrals": "R", "assessments": "A", "s47": "S"}
_HEADER_SEARCH_ROWS = 30
# The sheet column (role) behind each contract column a row check can name.
_ROLE_OF = {"authorised_date": "authorised", "icpc_date": "icpc"}

# Per list: role -> the header with everything but letters and digits removed, lower case.
_HEADERS: dict[str, dict[str, str]] = {
    "contacts": {"child": "childuniqueid", "date": "dateofcontact", "source": "contactsource"},
    "referrals": {
        "child": "childuniqueid",
        "date": "dateofreferral",
        "source": "referralsource",
        "nfa": "referralnfa",
    },
    "assessments": {
        "child": "childuniqueid",
        "date": "continuousassessmentstartdate",
        "authorised": "continuousassessmentdateofauthorisation",
    },
    "s47": {
        "child": "childuniqueid",
        "date": "strategydiscussioninitiatingsection47enquirystartdate",
        "unnecessary": "wasaninitialchildprotectionconferencedeemedunnecessary",
        "icpc": "dateofinitialchildprotectionconference",
    },
}


def _norm(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower()) if text is not None else ""


def _label(header: object) -> str:
    # Header cells are column names (template text), never child data.
    return str(header or "").replace("\xa0", " ").strip()


@dataclass(frozen=True)
class AnnexReject:
    """One row (or one whole list) not imported. ``column`` is the letter and header."""

    file: str
    sheet: str
    row: int
    column: str
    reason: str

    def line(self) -> str:
        """One line for a person; never quotes cell text."""
        return f"{self.file}, sheet '{self.sheet}', row {self.row}, {self.column}: {self.reason}"


@dataclass
class ListResult:
    """One list: where it was found, and its counts.

    ``summary`` counts rows (``read == inserted + updated + unchanged + rejected``);
    ``mapped`` counts rows turned into records (before the writer's duplicate check);
    ``defaulted[field]`` counts mapped rows whose ``field`` was set by a default.
    ``problem`` is set when the sheet exists but its header row was not found.
    """

    kind: str
    summary: ImportSummary
    sheet: str | None = None
    header_row: int | None = None
    mapped: int = 0
    defaulted: Counter[str] = field(default_factory=Counter)
    problem: str | None = None


@dataclass
class AnnexAReport(KeepsRejects[AnnexReject]):
    """What one Annex A import did, per list; ``rejects`` keeps the first
    :data:`MAX_REJECTS_KEPT` and ``problems`` counts all of them."""

    path: Path
    team_id: str
    lists: dict[str, ListResult] = field(default_factory=dict)
    rejects: list[AnnexReject] = field(default_factory=list)
    problems: int = 0
    spill: RejectsFile | None = None

    @property
    def rejected(self) -> int:
        """Rows not imported, plus lists whose sheet had no usable header row."""
        return sum(r.summary.rejected + (r.problem is not None) for r in self.lists.values())

    @property
    def partial(self) -> bool:
        """True when anything was rejected."""
        return self.rejected > 0


class _Bad(Exception):
    """A row that cannot be mapped: (role of the column, reason)."""

    def __init__(self, role: str, reason: str) -> None:
        super().__init__(role, reason)
        self.role = role
        self.reason = reason


def find_sheet(names: list[str], list_no: int) -> str | None:
    """The first sheet named like "List {list_no}" (any case, spacing, suffix), else None."""
    for name in names:
        m = re.match(r"list0*(\d+)", _norm(name))
        if m and int(m[1]) == list_no:
            return name
    return None


def import_annex_a(
    engine: Engine,
    path: Path,
    *,
    team_id: str,
    now: datetime,
    tz: ZoneInfo | None = None,
    batch_size: int = 5000,
    spill: RejectsFile | None = None,
) -> AnnexAReport:
    """Import Lists 1, 3, 4 and 5 of the workbook at ``path``; every record gets ``team_id``.

    ``now`` stamps inserted and changed rows (``ingested_at``); ``tz`` is the zone of the
    Annex A dates (default Europe/London). Raises :class:`UsageError` for an unknown team and
    :class:`FileRefused` (nothing imported) when the file is not a readable .xlsx workbook or
    has none of the four lists.
    """
    require_team(engine, team_id)
    zone = tz or ZoneInfo("Europe/London")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRefused(
            f"{path}: not a readable Excel .xlsx workbook ({type(exc).__name__}); nothing imported"
        ) from None
    report = AnnexAReport(path=path, team_id=team_id, spill=spill)
    try:
        sheets = {k: find_sheet(list(book.sheetnames), LIST_NO[k]) for k in KINDS}
        if not any(sheets.values()):
            raise FileRefused(
                f"{path}: no Annex A List 1, 3, 4 or 5 sheet (expected sheets named like "
                "'List 1'); nothing imported"
            )
        importer = _Importer(engine, report, now=now, tz=zone, batch_size=batch_size)
        for kind in KINDS:
            result = ListResult(kind, ImportSummary(kind=f"annex-a {kind}", path=path))
            result.sheet = sheets[kind]
            report.lists[kind] = result
            if result.sheet is not None:
                importer.run(result, book[result.sheet].iter_rows(values_only=True))
    finally:
        book.close()
    for kind, result in report.lists.items():
        if result.summary.inserted or result.summary.updated:
            analyze(engine, FILE_SPECS[kind].table.name)
    return report


class _Importer:
    """Maps and writes the rows of each list in turn."""

    def __init__(
        self, engine: Engine, report: AnnexAReport, *, now: datetime, tz: ZoneInfo, batch_size: int
    ) -> None:
        self.engine = engine
        self.report = report
        self.now = now
        self.tz = tz
        self.batch_size = batch_size
        # child id -> [(referral date, referral id)] of mapped List 3 rows, for List 4 links.
        self.referrals: dict[str, list[tuple[date, str]]] = {}

    def run(self, result: ListResult, rows: Any) -> None:
        """Find the header row, then map and write every non-blank row below it."""
        kind, sheet = result.kind, result.sheet or ""
        wanted = _HEADERS[kind]
        columns: dict[str, int] = {}
        # The stack closes the list's writer (and its connection) even when a write fails.
        with ExitStack() as self.stack:
            for row_no, row in enumerate(rows, start=1):
                if not columns:
                    found = {_norm(v): i for i, v in enumerate(row) if v is not None}
                    if all(h in found for h in wanted.values()):
                        columns = {role: found[h] for role, h in wanted.items()}
                        result.header_row = row_no
                        self._open(result, columns, [_label(v) for v in row])
                    elif row_no >= _HEADER_SEARCH_ROWS:
                        break
                    continue
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    continue  # trailing or spacer rows are not records
                self._row(result, row_no, row)
            if columns:
                self._flush()
                return
        result.problem = (
            f"no header row with the List {LIST_NO[kind]} columns in the first "
            f"{_HEADER_SEARCH_ROWS} rows; the list was not imported"
        )
        self.report.add_reject(
            AnnexReject(self.report.path.name, sheet, 0, "header", result.problem)
        )

    def _open(self, result: ListResult, columns: dict[str, int], headers: list[str]) -> None:
        self.result = result
        self.columns = columns
        self.labels = {
            role: f"column {get_column_letter(i + 1)} ({headers[i]})" for role, i in columns.items()
        }
        self.pending: list[PendingRow] = []
        self.counts: Counter[tuple[str, date]] = Counter()
        self.sink = RejectSink(result.summary, None)
        spec = FILE_SPECS[result.kind]
        # Columns Annex A cannot know are neither compared nor overwritten.
        skip = {"referrals": {"contact_id"}, "contacts": {"worker_id"}}.get(result.kind, set())
        present = tuple(c for c in spec.column_names if c not in skip)
        extra = UNTIMED if result.kind in ("contacts", "referrals") else ()
        self.writer = self.stack.enter_context(
            BatchWriter(self.engine, spec, result.summary, self.sink, self.now, present, extra)
        )

    def _row(self, result: ListResult, row_no: int, row: tuple[Any, ...]) -> None:
        result.summary.read += 1
        cells = {role: (row[i] if i < len(row) else None) for role, i in self.columns.items()}
        try:
            values, defaulted = self._map(result.kind, cells)
        except _Bad as bad:
            result.summary.rejected += 1
            self.report.add_reject(
                AnnexReject(
                    self.report.path.name,
                    result.sheet or "",
                    row_no,
                    self.labels.get(bad.role, bad.role),
                    bad.reason,
                )
            )
            return
        result.mapped += 1
        result.defaulted.update(defaulted)
        self.pending.append(PendingRow(row_no, values))
        if len(self.pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        self.writer.write(self.pending)
        self.pending = []
        for r in sorted(self.sink.pending, key=lambda r: r.row):
            self.report.add_reject(
                AnnexReject(
                    self.report.path.name, self.result.sheet or "", r.row, r.column, r.reason
                )
            )
        self.sink.pending.clear()

    def _cell(self, cells: dict[str, Any], role: str, clean: Any, *, required: bool) -> Any:
        try:
            value = clean(cells[role])
        except BadValue as exc:
            raise _Bad(role, str(exc)) from None
        if value is None and required:
            raise _Bad(role, "required value is empty")
        return value

    def _map(self, kind: str, cells: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        child = self._cell(cells, "child", clean_id, required=True)
        day: date = self._cell(cells, "date", clean_date, required=True)
        self.counts[(child, day)] += 1
        record_id = f"{ID_PREFIX}{child}-{_ID_LETTER[kind]}{day:%Y%m%d}-{self.counts[(child, day)]}"
        if not SAFE_ID.fullmatch(record_id):
            raise _Bad("child", "derived record id longer than 64 characters")
        defaulted = ["team_id"]
        values: dict[str, Any] = {"child_id": child, "team_id": self.report.team_id}
        if kind in ("contacts", "referrals"):
            try:
                received = localize(datetime.combine(day, time(0)), self.tz)
            except NonExistentLocalTime:
                raise _Bad("date", f"00:00 does not exist in {self.tz.key}") from None
            source, known = clean_source(cells["source"])
            if not known:
                defaulted.append("source (no known code; left empty)")
            defaulted.append("received_at (00:00 local)")
            values.update(received_at=received, source=source)
        if kind == "contacts":
            defaulted.append("outcome and outcome_at (completed on receipt)")
            # Completed on receipt: see the module docstring and docs/annex-a.md.
            values.update(
                contact_id=record_id,
                worker_id=None,
                outcome=ANNEX_A_OUTCOME,
                outcome_at=values["received_at"],
                untimed=True,
            )
        elif kind == "referrals":
            nfa = self._cell(cells, "nfa", clean_bool, required=False)
            defaulted.append("decision_at (completed on receipt)")
            values.update(
                referral_id=record_id,
                contact_id=None,
                decision=None if nfa is None else ("NFA" if nfa else "Further action"),
                decision_at=values["received_at"],
                untimed=True,
            )
            self.referrals.setdefault(child, []).append((day, record_id))
        elif kind == "assessments":
            earlier = [r for r in self.referrals.get(child, []) if r[0] <= day]
            if not earlier:
                raise _Bad(
                    "child",
                    "no List 3 referral for this child on or before the assessment start "
                    "date: the assessment cannot be linked to a referral",
                )
            values.update(
                assessment_id=record_id,
                referral_id=max(earlier)[1],
                start_date=day,
                authorised_date=self._cell(cells, "authorised", clean_date, required=False),
            )
        else:
            values.update(
                s47_id=record_id,
                discussion_id=None,
                start_date=day,
                icpc_date=self._cell(cells, "icpc", clean_date, required=False),
                icpc_not_required=self._cell(cells, "unnecessary", clean_bool, required=False),
            )
        for check in FILE_SPECS[kind].checks:
            problem = check(values)
            if problem:
                raise _Bad(_ROLE_OF.get(problem[0], problem[0]), problem[1])
        return values, defaulted
