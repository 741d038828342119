"""Streaming, idempotent CSV import (the data contract's general rules).

The file is read row by row and written in batches, so memory does not grow with file size.
Each batch is one transaction: rows new to the database are inserted, rows whose values
changed are updated, identical rows are left alone. Invalid rows are never dropped silently:
each problem is a :class:`Reject` (row number with the header as row 1, column, reason),
streamed to the rejects file as the import goes; the valid rows of the same file are imported.

Within one file the first valid row with a given id wins; every later row with that id is
rejected as a duplicate, so re-importing such a file changes nothing. Duplicates are found
without holding every id of the file in memory: within a batch by a dictionary, across batches
by the database itself (a stored row stamped with this run's ``ingested_at`` was written by this
run) plus a temporary table of the ids this run found unchanged.

This module maps the header, validates rows and drives the import; what an import reports is in
:mod:`frontdoor.import_report`, reading and decoding the file in :mod:`frontdoor.csvsource`,
writing the batches in :mod:`frontdoor.upsert`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from frontdoor.csvformat import (
    FILE_SPECS,
    SAFE_ID,
    Col,
    FileSpec,
    ParseContext,
    safe_record_id,
    shown,
)
from frontdoor.csvsource import BadBytes, DecodedLines, open_source
from frontdoor.db import analyze
from frontdoor.errors import FileRefused, UsageError
from frontdoor.import_report import ImportSummary, PendingRow, Reject, RejectSink
from frontdoor.models import Team, table_of
from frontdoor.upsert import BatchWriter


def _read_header(
    reader: Iterator[list[str]], spec: FileSpec, path: Path
) -> tuple[list[str | None], list[str]]:
    """Map each CSV position to a contract column (None = unknown); refuse missing columns."""
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(f"{path}: the file is empty (expected a header row)") from None
    known = {c.name for c in spec.columns}
    names = [h.strip().lower() for h in header]
    mapped: list[str | None] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in known:
            if name in seen:
                raise FileRefused(f"{path}: column {name!r} appears twice in the header")
            seen.add(name)
            mapped.append(name)
        else:
            mapped.append(None)
            warnings.append(f"{path}: unknown column {name!r} ignored")
    missing = [c.name for c in spec.columns if c.must_exist and c.name not in seen]
    if missing:
        raise FileRefused(
            f"{path}: required column(s) missing: {', '.join(missing)} - file refused, "
            "nothing imported"
        )
    return mapped, warnings


@dataclass(frozen=True)
class Layout:
    """Where each contract column sits in a file's rows (None: column absent)."""

    width: int
    key_pos: int
    cols: tuple[tuple[Col, int | None], ...]

    @classmethod
    def build(cls, mapped: Sequence[str | None], spec: FileSpec) -> Layout:
        """The layout for a header mapped by :func:`_read_header`."""
        where = {name: i for i, name in enumerate(mapped) if name is not None}
        return cls(
            width=len(mapped),
            key_pos=where[spec.key[0]],
            cols=tuple((c, where.get(c.name)) for c in spec.columns),
        )


def parse_row(
    raw: Sequence[str], layout: Layout, spec: FileSpec, ctx: ParseContext, row: int
) -> tuple[dict[str, Any] | None, list[Reject]]:
    """Validate one CSV record. Returns (values, []) or (None, rejects)."""
    if len(raw) != layout.width:
        reason = f"row has {len(raw)} fields, the header has {layout.width}"
        return None, [Reject(row, _raw_record_id(raw, layout), "*", reason)]
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col, pos in layout.cols:
        text = raw[pos] if pos is not None else ""
        if not text or text.isspace():
            if col.required:
                problems.append((col.name, "required value is empty"))
            values[col.name] = None
            continue
        try:
            values[col.name] = col.parse(text, ctx)
        except ValueError as exc:
            problems.append((col.name, str(exc)))
    if not problems:
        for check in spec.checks:
            problem = check(values)
            if problem:
                problems.append(problem)
    if not problems:
        return values, []
    record_id = _raw_record_id(raw, layout)
    return None, [Reject(row, record_id, column, reason) for column, reason in problems]


def _raw_record_id(raw: Sequence[str], layout: Layout) -> str:
    return safe_record_id(raw[layout.key_pos].strip()) if layout.key_pos < len(raw) else ""


def load_team_ids(engine: Engine) -> frozenset[str]:
    """Team ids known to the database (for the unknown-team check)."""
    with engine.connect() as conn:
        return frozenset(conn.execute(select(table_of(Team).c.team_id)).scalars())


def require_team(engine: Engine, team_id: str) -> None:
    """For sources without a team of their own (Annex A, the CIN census): raise
    :class:`UsageError` unless ``team_id`` is in the teams table."""
    if team_id not in load_team_ids(engine):
        raise UsageError(
            f"team {shown(team_id, SAFE_ID)} is not in the teams table: import teams.csv "
            "first, or set FRONTDOOR_DEFAULT_TEAM / --team to a known team"
        )


def import_csv(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    ctx: ParseContext,
    ingested_at: datetime,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    rejects_path: Path | None = None,
) -> ImportSummary:
    """Import one contract CSV file of ``kind`` into the database.

    ``ingested_at`` stamps inserted and changed rows; it must be new for each run (the
    command uses the current time): it is how this run recognises rows it wrote itself.
    ``progress`` is called with (bytes read, file size) at the start and after each batch.
    Rejects are streamed to ``rejects_path`` (opened on the first reject; a stale file is
    removed when there is none); without it they are only counted and the first
    :data:`MAX_REJECTS_KEPT` kept in the summary.

    Raises :class:`FileRefused` for a file that cannot be imported at all (missing, a folder,
    unreadable, empty, a header that is not UTF-8 or names a required column twice or not at
    all). A CSV or encoding error after the header stops the import: the rows before it are
    committed and their rejects written, and the summary's ``error`` says where it stopped.
    """
    spec = FILE_SPECS[kind]
    summary = ImportSummary(kind=kind, path=path)
    with ExitStack() as stack:
        raw_file = stack.enter_context(open_source(path))
        total = os.fstat(raw_file.fileno()).st_size
        if progress is not None:
            progress(0, total)
        try:
            lines = DecodedLines(raw_file)
        except BadBytes as exc:
            raise FileRefused(_not_utf8_header(path, exc.offset)) from None
        stack.callback(lines.close)
        reader = csv.reader(lines.iter)
        try:
            mapped, warnings = _read_header(reader, spec, path)
        except UnicodeDecodeError as exc:
            raise FileRefused(_not_utf8_header(path, lines.offset(exc), lines.exact)) from None
        except csv.Error as exc:
            raise FileRefused(f"{path}: row 1: malformed CSV ({exc}); nothing imported") from None
        sink = RejectSink(summary, rejects_path)
        stack.callback(sink.close)
        layout = Layout.build(mapped, spec)
        present = tuple(col.name for col, pos in layout.cols if pos is not None)
        summary.warnings.extend(warnings)
        writer = stack.enter_context(BatchWriter(engine, spec, summary, sink, ingested_at, present))
        batch: list[PendingRow] = []
        pending = sink.pending
        row_no = 1

        def flush() -> None:
            writer.write(batch)
            batch.clear()
            sink.emit()
            if progress is not None:
                progress(raw_file.tell(), total)

        read = rejected = 0
        try:
            for raw in reader:
                row_no += 1
                if not raw:  # a blank line holds no record
                    continue
                read += 1
                values, rejects = parse_row(raw, layout, spec, ctx, row_no)
                if values is None:
                    rejected += 1
                    pending.extend(rejects)
                    if len(pending) >= batch_size:
                        flush()  # keeps memory bounded and the rejects file in row order
                    continue
                batch.append(PendingRow(row_no, values))
                if len(batch) >= batch_size:
                    flush()
        except UnicodeDecodeError as exc:
            where = "in" if lines.exact else "at or after"
            summary.error = (
                f"{path}: not valid UTF-8 {where} row {row_no + 1} "
                f"(byte offset {lines.offset(exc)}); {_processed(row_no)}"
            )
        except csv.Error as exc:
            summary.error = f"{path}: row {row_no + 1}: malformed CSV ({exc}); {_processed(row_no)}"
        summary.read += read
        summary.rejected += rejected
        flush()
        sink.finish()
    if summary.inserted or summary.updated:
        analyze(engine, spec.table.name)
    return summary


def _not_utf8_header(path: Path, offset: int, exact: bool = True) -> str:
    where = "in" if exact else "in or after"
    return (
        f"{path}: not valid UTF-8 {where} the header row (byte offset {offset}); nothing imported"
    )


def _processed(last_row: int) -> str:
    if last_row < 2:
        return "no row was processed"
    return f"rows 2..{last_row} were processed (imported or rejected), nothing after"
