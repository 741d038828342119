"""Streaming, safe, idempotent import of a DfE Children in Need census XML file.

The file is read with :func:`defusedxml.ElementTree.iterparse` with DTDs, entity declarations
and external references all forbidden (a census never needs them; a "billion laughs" file is
refused before anything is written). Each ``<Child>`` is mapped by
:func:`frontdoor.cin_census_map.map_child` when its end tag is read and is then removed from the
tree, so memory stays constant however many children the file holds.

Records are written through the CSV importer's :class:`~frontdoor.upsert.BatchWriter` (one per
table, referrals first because assessments reference them): new rows are inserted, changed rows
updated, identical rows left alone, so importing the same file again changes nothing. Every
record that cannot be mapped or written is a :class:`~frontdoor.cin_census_map.CinReject`;
nothing is dropped silently. A malformed file stops the import at the error: children read
before it are committed and the report's ``error`` names the file, line and column.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

# No stubs ship for defusedxml (pyproject has none either); unused-ignore keeps this clean
# if types-defusedxml is installed later.
from defusedxml import DefusedXmlException  # type: ignore[import-untyped, unused-ignore]
from defusedxml.ElementTree import iterparse  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine

from frontdoor.cin_census_map import KINDS, CinReject, MappedChild, Where, local_name, map_child
from frontdoor.csvformat import FILE_SPECS, SAFE_ID, shown
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


@dataclass
class CinReport(KeepsRejects[CinReject]):
    """What one census import did.

    ``tables[kind]`` holds the per-table counts (``read == inserted + updated + unchanged +
    rejected``). ``children_rejected`` counts children refused whole (no usable LAchildID).
    ``defaulted_team`` counts mapped records given the default team (the census has no
    team; counted before the writer's duplicate check);
    ``defaulted_times`` counts referrals whose receipt and decision times were set from the
    referral date. ``rejects`` keeps the first :data:`MAX_REJECTS_KEPT`; ``problems`` counts
    all. ``error`` is set when a malformed file stopped the import part-way.
    """

    path: Path
    team_id: str
    children: int = 0
    children_rejected: int = 0
    tables: dict[str, ImportSummary] = field(default_factory=dict)
    defaulted_team: int = 0
    defaulted_times: int = 0
    rejects: list[CinReject] = field(default_factory=list)
    problems: int = 0
    spill: RejectsFile | None = None
    error: str | None = None

    @property
    def rejected(self) -> int:
        """Records (and children) not imported."""
        return self.children_rejected + sum(s.rejected for s in self.tables.values())

    @property
    def partial(self) -> bool:
        """True when anything was rejected or the import stopped early."""
        return self.rejected > 0 or self.error is not None


class _Batches:
    """Pending records of every kind, written together in reference order."""

    def __init__(self, engine: Engine, report: CinReport, now: datetime, stack: ExitStack):
        self.report = report
        self.pending: dict[str, list[PendingRow]] = {k: [] for k in KINDS}
        self.where: dict[str, dict[int, Where]] = {k: {} for k in KINDS}
        self.sinks: dict[str, RejectSink] = {}
        self.writers: dict[str, BatchWriter] = {}
        self.seq = 0
        for kind in KINDS:
            spec = FILE_SPECS[kind]
            summary = report.tables[kind]
            sink = RejectSink(summary, None)
            self.sinks[kind] = sink
            # Every contract column except a referral's contact_id is set from the census, so
            # only those are compared and updated: a contact link made elsewhere is kept.
            present = tuple(c for c in spec.column_names if c != "contact_id")
            # Referrals carry no decision time: marked untimed (volumes, not timeliness).
            extra = ("untimed",) if kind == "referrals" else ()
            writer = BatchWriter(engine, spec, summary, sink, now, present, extra)
            self.writers[kind] = stack.enter_context(writer)

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.pending.values())

    def add(self, mapped: MappedChild) -> None:
        for kind in KINDS:
            for where, values in mapped.records[kind]:
                # The writer's "row" is a sequence number; it leads back to the child and path.
                self.seq += 1
                self.pending[kind].append(PendingRow(self.seq, values))
                self.where[kind][self.seq] = where
                self.report.tables[kind].read += 1

    def flush(self) -> None:
        for kind in KINDS:
            self.writers[kind].write(self.pending[kind])
            sink = self.sinks[kind]
            for r in sorted(sink.pending, key=lambda r: r.row):
                w = self.where[kind][r.row]
                self.report.add_reject(
                    CinReject(kind, w.child_no, w.child_id, w.path, r.column, r.reason)
                )
            sink.pending.clear()
            self.pending[kind].clear()
            self.where[kind].clear()


def import_cin_census(
    engine: Engine,
    path: Path,
    *,
    team_id: str,
    now: datetime,
    tz: ZoneInfo | None = None,
    batch_size: int = 5000,
    spill: RejectsFile | None = None,
) -> CinReport:
    """Import the CIN census XML file at ``path``; every record gets team ``team_id``.

    ``now`` stamps inserted and changed rows (``ingested_at``) and must be new for each run.
    ``tz`` is the local zone of the referral dates (default Europe/London).

    Raises :class:`UsageError` when ``team_id`` is not a known team, and :class:`FileRefused`
    when the file cannot be read, declares a DTD or entities, is not XML or its root is not a
    census ``<Message>`` (nothing is imported then). A malformed file after the first child
    stops the import: see :attr:`CinReport.error`.
    """
    require_team(engine, team_id)
    zone = tz or ZoneInfo("Europe/London")
    report = CinReport(path=path, team_id=team_id, spill=spill)
    report.tables = {k: ImportSummary(kind=f"cin-census {k}", path=path) for k in KINDS}
    try:
        source = path.open("rb")
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    with ExitStack() as stack:
        stack.enter_context(source)
        batches = _Batches(engine, report, now, stack)
        try:
            _read(source, report, batches, team_id=team_id, tz=zone, batch_size=batch_size)
        except DefusedXmlException as exc:
            raise FileRefused(
                f"{path}: refused: the file declares a DTD, entity or external reference "
                f"({type(exc).__name__}); a CIN census never needs one. Nothing imported"
            ) from None
        except ParseError as exc:
            line, column = exc.position
            where = f"{path}: malformed XML at line {line}, column {column} ({_expat(exc)})"
            if report.children == 0:
                raise FileRefused(f"{where}; nothing imported") from None
            report.error = (
                f"{where}; children 1..{report.children} were processed (imported or "
                "rejected), nothing after"
            )
        except OSError as exc:
            raise FileRefused(f"{path}: cannot read the file: {exc.strerror or exc}") from None
        batches.flush()
    for kind in KINDS:
        if report.tables[kind].inserted or report.tables[kind].updated:
            analyze(engine, FILE_SPECS[kind].table.name)
    return report


def _expat(exc: ParseError) -> str:
    """expat's message without its position suffix (the text names no data)."""
    return str(exc).split(":", 1)[0]


def _read(
    source: Any,
    report: CinReport,
    batches: _Batches,
    *,
    team_id: str,
    tz: ZoneInfo,
    batch_size: int,
) -> None:
    stack: list[Element] = []
    for event, elem in iterparse(
        source, events=("start", "end"), forbid_dtd=True, forbid_entities=True
    ):
        if event == "start":
            if not stack and local_name(elem.tag) != "Message":
                raise FileRefused(
                    f"{report.path}: not a CIN census file (root element "
                    f"{shown(local_name(elem.tag), SAFE_ID)}, expected Message); nothing imported"
                )
            stack.append(elem)
            continue
        stack.pop()
        if local_name(elem.tag) != "Child":
            continue
        report.children += 1
        mapped = map_child(elem, report.children, team_id=team_id, tz=tz)
        for reject in mapped.rejects:
            if reject.kind == "child":
                report.children_rejected += 1
            else:
                summary = report.tables[reject.kind]
                summary.read += 1
                summary.rejected += 1
            report.add_reject(reject)
        report.defaulted_team += sum(len(r) for r in mapped.records.values())
        report.defaulted_times += mapped.referrals_timed
        batches.add(mapped)
        # Drop the processed child from the tree: this is what keeps memory constant.
        elem.clear()
        if stack:
            stack[-1].remove(elem)
        if batches.size >= batch_size:
            batches.flush()
