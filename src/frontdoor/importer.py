"""Streaming, idempotent CSV import (the data contract's general rules).

The file is read row by row and written in batches, so memory does not grow with file size.
Each batch is one transaction: rows new to the database are inserted, rows whose values
changed are updated, identical rows are left alone. Invalid rows are never dropped silently:
each is returned as a :class:`Reject` (row number with the header as row 1, column, reason) and
written by the caller to a rejects file; the valid rows of the same file are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, Connection, Engine, and_, bindparam, select

from frontdoor.bulkinsert import insert_rows
from frontdoor.csvformat import FILE_SPECS, Col, FileSpec, ParseContext
from frontdoor.db import analyze
from frontdoor.errors import FileRefused
from frontdoor.models import Team, table_of


@dataclass(frozen=True)
class Reject:
    """One problem with one row. A row with several problems gives several rejects."""

    row: int
    record_id: str
    column: str
    reason: str


@dataclass
class ImportSummary:
    """Counts of one import. ``rejected`` counts rows; ``rejects`` lists every problem."""

    kind: str
    path: Path
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """True when any row was rejected."""
        return self.rejected > 0

    def line(self) -> str:
        """The one-line summary printed after an import."""
        text = (
            f"{self.path.name} ({self.kind}): read {self.read}, inserted {self.inserted}, "
            f"updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"
        )
        if self.partial:
            text += " - partial import"
        return text


@dataclass
class _Pending:
    row: int
    values: dict[str, Any]


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
    record_id = raw[layout.key_pos].strip() if layout.key_pos < len(raw) else ""
    if len(raw) != layout.width:
        reason = f"row has {len(raw)} fields, the header has {layout.width}"
        return None, [Reject(row, record_id, "*", reason)]
    values: dict[str, Any] = {}
    rejects: list[Reject] = []
    for col, pos in layout.cols:
        text = raw[pos] if pos is not None else ""
        if not text or text.isspace():
            if col.required:
                rejects.append(Reject(row, record_id, col.name, "required value is empty"))
            values[col.name] = None
            continue
        try:
            values[col.name] = col.parse(text, ctx)
        except ValueError as exc:
            rejects.append(Reject(row, record_id, col.name, str(exc)))
    if not rejects:
        for check in spec.checks:
            problem = check(values)
            if problem:
                rejects.append(Reject(row, record_id, problem[0], problem[1]))
    return (None, rejects) if rejects else (values, [])


def _existing_keys(conn: Connection, spec: FileSpec, col: str, ids: set[str]) -> set[str]:
    ref = next(r for r in spec.references if r.column == col)
    key = ref.table.c[ref.key]
    found: set[str] = set()
    id_list = sorted(ids)
    for i in range(0, len(id_list), 1000):
        chunk = id_list[i : i + 1000]
        found.update(conn.execute(select(key).where(key.in_(chunk))).scalars())
    return found


def _write_batch(
    conn: Connection,
    spec: FileSpec,
    batch: list[_Pending],
    summary: ImportSummary,
    ingested_at: datetime,
    present: Sequence[str],
) -> None:
    """Check references, then insert new rows and update changed ones (one transaction).

    Only the ``present`` columns (those in the file's header) are compared and updated: a
    later file that leaves out an optional column keeps the stored values, so a narrower
    export can never wipe recorded outcomes.
    """
    for ref in spec.references:
        wanted = {p.values[ref.column] for p in batch if p.values.get(ref.column)}
        if not wanted:
            continue
        found = _existing_keys(conn, spec, ref.column, wanted)
        kept: list[_Pending] = []
        for p in batch:
            value = p.values.get(ref.column)
            if value and value not in found:
                rid = str(p.values[spec.key[0]])
                summary.rejects.append(
                    Reject(p.row, rid, ref.column, f"unknown {ref.column} {value!r}: {ref.hint}")
                )
                summary.rejected += 1
            else:
                kept.append(p)
        batch = kept

    # Within one file a later row with the same key replaces the earlier one.
    latest: dict[tuple[Any, ...], _Pending] = {}
    for p in batch:
        key = tuple(p.values[k] for k in spec.key)
        if key in latest:
            if latest[key].values == p.values:
                summary.unchanged += 1
            else:
                summary.updated += 1
        latest[key] = p

    table = spec.table
    first = table.c[spec.key[0]]
    existing: dict[tuple[Any, ...], dict[str, Any]] = {}
    firsts = sorted({k[0] for k in latest})
    cols = [table.c[c] for c in spec.column_names]
    for i in range(0, len(firsts), 1000):
        rows = conn.execute(select(*cols).where(first.in_(firsts[i : i + 1000]))).mappings()
        for r in rows:
            existing[tuple(r[k] for k in spec.key)] = dict(r)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, p in latest.items():
        old = existing.get(key)
        if old is None:
            inserts.append({**p.values, "ingested_at": ingested_at})
        elif any(old[c] != p.values[c] for c in present):
            updates.append(
                {
                    **{f"b_{k}": p.values[k] for k in spec.key},
                    **{c: p.values[c] for c in present},
                    "ingested_at": ingested_at,
                }
            )
        else:
            summary.unchanged += 1
    if inserts:
        names = (*spec.column_names, "ingested_at")
        insert_rows(conn, table, names, [tuple(r[n] for n in names) for r in inserts])
        summary.inserted += len(inserts)
    if updates:
        where = and_(*(table.c[k] == bindparam(f"b_{k}") for k in spec.key))
        values: dict[str, BindParameter[Any]] = {c: bindparam(c) for c in (*present, "ingested_at")}
        conn.execute(table.update().where(where).values(values), updates)
        summary.updated += len(updates)


def load_team_ids(engine: Engine) -> frozenset[str]:
    """Team ids known to the database (for the unknown-team check)."""
    with engine.connect() as conn:
        return frozenset(conn.execute(select(table_of(Team).c.team_id)).scalars())


def import_csv(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    ctx: ParseContext,
    ingested_at: datetime,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import one contract CSV file of ``kind`` into the database.

    ``ingested_at`` stamps inserted and changed rows. ``progress`` is called with the number
    of bytes read so far after each batch. Raises :class:`FileRefused` for a file that cannot
    be imported at all (missing or duplicate required column, empty file, not UTF-8); rows
    committed before a mid-file encoding error stay imported (re-importing is idempotent).
    """
    spec = FILE_SPECS[kind]
    summary = ImportSummary(kind=kind, path=path)
    try:
        raw_file = path.open("rb")
    except OSError as exc:
        raise FileRefused(f"{path}: cannot open: {exc.strerror}") from None
    # Text is decoded by the wrapper; ``raw_file`` is kept to report progress in bytes.
    with io.TextIOWrapper(raw_file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            mapped, warnings = _read_header(reader, spec, path)
        except UnicodeDecodeError:
            raise FileRefused(f"{path}: not valid UTF-8; nothing imported") from None
        except csv.Error as exc:
            raise FileRefused(f"{path}: row 1: malformed CSV ({exc})") from None
        layout = Layout.build(mapped, spec)
        present = tuple(col.name for col, pos in layout.cols if pos is not None)
        summary.warnings.extend(warnings)
        batch: list[_Pending] = []
        row_no = 1

        def flush() -> None:
            with engine.begin() as conn:
                _write_batch(conn, spec, batch, summary, ingested_at, present)
            batch.clear()
            if progress is not None:
                progress(raw_file.tell())

        try:
            for raw in reader:
                row_no += 1
                if not raw:  # a blank line holds no record
                    continue
                summary.read += 1
                values, rejects = parse_row(raw, layout, spec, ctx, row_no)
                if values is None:
                    summary.rejected += 1
                    summary.rejects.extend(rejects)
                    continue
                batch.append(_Pending(row_no, values))
                if len(batch) >= batch_size:
                    flush()
        except UnicodeDecodeError:
            raise FileRefused(
                f"{path}: not valid UTF-8 after row {row_no}; rows before it were imported"
            ) from None
        except csv.Error as exc:
            raise FileRefused(f"{path}: row {row_no}: malformed CSV ({exc})") from None
        if batch:
            flush()
    if summary.inserted or summary.updated:
        analyze(engine, spec.table.name)
    return summary


def write_rejects(summary: ImportSummary, report_dir: Path) -> Path | None:
    """Write (or remove a stale) ``<stem>.rejects.csv`` in ``report_dir``; return its path."""
    report_dir.mkdir(parents=True, exist_ok=True)
    target = report_dir / f"{summary.path.stem}.rejects.csv"
    if not summary.rejects:
        target.unlink(missing_ok=True)
        return None
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "row", "record_id", "column", "reason"])
        for r in sorted(summary.rejects, key=lambda r: (r.row, r.column)):
            writer.writerow([summary.path.name, r.row, r.record_id, r.column, r.reason])
    return target
