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
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import (
    BindParameter,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from frontdoor.bulkinsert import insert_rows
from frontdoor.csvformat import (
    FILE_SPECS,
    SAFE_ID,
    Col,
    FileSpec,
    ParseContext,
    safe_record_id,
    shown,
)
from frontdoor.db import analyze
from frontdoor.errors import FileRefused
from frontdoor.models import Team, table_of

#: How many rejects an :class:`ImportSummary` keeps in memory; the rejects file has them all.
MAX_REJECTS_KEPT = 1000
REJECTS_HEADER = ("file", "row", "record_id", "column", "reason")
_BOM = b"\xef\xbb\xbf"
_READ_BUFFER = 1 << 16
_IN_CHUNK = 1000  # values per ``IN (...)`` list where a list cannot be one parameter
_SEEN_TABLE = "frontdoor_import_seen"


@dataclass(frozen=True)
class Reject:
    """One problem with one row. A row with several problems gives several rejects.

    ``record_id`` is the row's id when it looks like an id, else empty (never free text).
    """

    row: int
    record_id: str
    column: str
    reason: str


def _reject_order(r: Reject) -> tuple[int, str]:
    return r.row, r.column


@dataclass
class ImportSummary:
    """Counts of one import: ``read == inserted + updated + unchanged + rejected``.

    ``rejected`` counts rows and ``problems`` counts rejects (a row may have several); the
    rejects file (``rejects_path``) lists every problem, ``rejects`` only the first
    :data:`MAX_REJECTS_KEPT`, in row order. ``error`` is set when a mid-file CSV or encoding
    error stopped the import: the rows before it were processed, nothing after.
    """

    kind: str
    path: Path
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def partial(self) -> bool:
        """True when any row was rejected or the import stopped early."""
        return self.rejected > 0 or self.error is not None

    def line(self) -> str:
        """The one-line summary printed after an import."""
        text = (
            f"{self.path.name} ({self.kind}): read {self.read}, inserted {self.inserted}, "
            f"updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"
        )
        if self.error is not None:
            text += " - stopped early, partial import"
        elif self.partial:
            text += " - partial import"
        return text


def rejects_path_for(path: Path, report_dir: Path | None = None) -> Path:
    """Where the rejects of ``path`` go: ``<stem>.rejects.csv`` in ``report_dir`` (default:
    next to the file)."""
    return (report_dir or path.parent) / f"{path.stem}.rejects.csv"


@dataclass
class _Pending:
    row: int
    values: dict[str, Any]


class _RejectSink:
    """Rejects on their way to the rejects file, which is opened on the first reject.

    Rejects wait in ``pending`` until the batch their rows belong to is written, then go out
    sorted by (row, column); batches cover consecutive rows, so the file is in row order.
    """

    def __init__(self, summary: ImportSummary, target: Path | None) -> None:
        self.summary = summary
        self.target = target
        self.pending: list[Reject] = []
        self._out: IO[str] | None = None
        self._writer: Any = None
        if target is not None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FileRefused(
                    f"{target.parent}: cannot create the folder for rejects files: "
                    f"{exc.strerror or exc}"
                ) from None
            if not os.access(target.parent, os.W_OK):
                raise FileRefused(f"{target.parent}: cannot write rejects files there")

    def emit(self) -> None:
        """Write the pending rejects; keep the first :data:`MAX_REJECTS_KEPT` in the summary."""
        pending = self.pending
        if not pending:
            return
        pending.sort(key=_reject_order)
        summary = self.summary
        room = MAX_REJECTS_KEPT - len(summary.rejects)
        if room > 0:
            summary.rejects.extend(pending[:room])
        summary.problems += len(pending)
        if self.target is not None:
            if self._writer is None:
                self._out = self.target.open("w", encoding="utf-8", newline="")
                self._writer = csv.writer(self._out)
                self._writer.writerow(REJECTS_HEADER)
            name = summary.path.name
            self._writer.writerows((name, r.row, r.record_id, r.column, r.reason) for r in pending)
        pending.clear()

    def close(self) -> None:
        """Close the rejects file, if one was opened."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def finish(self) -> None:
        """Record the rejects file in the summary, or remove a stale one when none."""
        self.close()
        if self.target is None:
            return
        if self.summary.problems:
            self.summary.rejects_path = self.target
        else:
            self.target.unlink(missing_ok=True)


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


def _existing_keys(conn: Connection, spec: FileSpec, col: str, ids: set[str]) -> set[str]:
    ref = next(r for r in spec.references if r.column == col)
    key = ref.table.c[ref.key]
    found: set[str] = set()
    for chunk in _chunks(conn, sorted(ids)):
        found.update(conn.execute(select(key).where(_among(conn, key, chunk))).scalars())
    return found


def _chunks(conn: Connection, values: list[str]) -> Iterator[list[str]]:
    """``values`` in lists that :func:`_among` can take."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        yield values
        return
    for i in range(0, len(values), _IN_CHUNK):  # pragma: no cover - other dialects
        yield values[i : i + _IN_CHUNK]


def _among(conn: Connection, column: ColumnElement[Any], values: list[str]) -> ColumnElement[bool]:
    """``column IN (values)`` with the whole list bound as one parameter where possible.

    Rendering one bind parameter per value cost more than the lookup itself (profiled: half the
    time of a re-import on PostgreSQL): PostgreSQL takes an array, SQLite a JSON array.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return column == any_(bindparam("ids", values, type_=ARRAY(Text)))
    if dialect == "sqlite":
        listed = func.json_each(bindparam("ids", json.dumps(values)))
        return column.in_(select(literal_column("value")).select_from(listed))
    return column.in_(values)  # pragma: no cover - other dialects


class _BatchWriter:
    """Writes batches over one connection; finds duplicate ids across batches.

    A row stored with this run's ``ingested_at`` was inserted or changed by this run, so a later
    row with its id is a duplicate. Rows this run found unchanged keep their old stamp; their
    ids go to a temporary table (in the database, not in memory) that later batches consult.
    When the table already held rows stamped ``ingested_at`` before this run (a caller reusing
    a stamp), the stamp proves nothing and every id this run accepts goes to that table.
    """

    def __init__(
        self,
        engine: Engine,
        spec: FileSpec,
        summary: ImportSummary,
        sink: _RejectSink,
        ingested_at: datetime,
        present: Sequence[str],
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.summary = summary
        self.sink = sink
        self.ingested_at = ingested_at
        self.present = tuple(present)
        self.key_of = itemgetter(*spec.key)  # a value for a one-column key, else a tuple
        self.key_label = "+".join(spec.key)
        self.seen = Table(
            _SEEN_TABLE,
            MetaData(),
            *(Column(k, Text, primary_key=True) for k in spec.key),
            prefixes=["TEMPORARY"],
        )
        self.seen_rows = 0
        self.seen_created = False
        self.track_all = False
        self._conn: Connection | None = None

    def __enter__(self) -> _BatchWriter:
        self._conn = self.engine.connect()
        table = self.spec.table
        with self._conn.begin():
            stale = self._conn.execute(
                select(table.c.ingested_at).where(table.c.ingested_at == self.ingested_at).limit(1)
            ).first()
        self.track_all = stale is not None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        try:
            if self.seen_created:
                with conn.begin():
                    self._drop_seen(conn)
        except SQLAlchemyError:
            if exc_type is None:
                raise  # otherwise the error that ended the import is the one to report
        finally:
            conn.close()

    def _drop_seen(self, conn: Connection) -> None:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_SEEN_TABLE}")
        elif dialect == "postgresql":
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{_SEEN_TABLE}")
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            self.seen.drop(conn, checkfirst=True)

    def write(self, batch: Sequence[_Pending]) -> None:
        """Write one batch in one transaction."""
        if not batch:
            return
        assert self._conn is not None, "use _BatchWriter as a context manager"
        with self._conn.begin():
            self._write(self._conn, batch)

    def _reject(self, p: _Pending, column: str, reason: str) -> None:
        rid = safe_record_id(str(p.values[self.spec.key[0]]))
        self.sink.pending.append(Reject(p.row, rid, column, reason))
        self.summary.rejected += 1

    def _write(self, conn: Connection, batch: Sequence[_Pending]) -> None:
        """Check references and duplicates, then insert new rows and update changed ones.

        Only the ``present`` columns (those in the file's header) are compared and updated: a
        later file that leaves out an optional column keeps the stored values, so a narrower
        export can never wipe recorded outcomes.
        """
        spec, summary, present = self.spec, self.summary, self.present
        for ref in spec.references:
            wanted = {p.values[ref.column] for p in batch if p.values.get(ref.column)}
            if not wanted:
                continue
            found = _existing_keys(conn, spec, ref.column, wanted)
            kept: list[_Pending] = []
            for p in batch:
                value = p.values.get(ref.column)
                if value and value not in found:
                    self._reject(
                        p, ref.column, f"unknown {ref.column} {shown(value, SAFE_ID)}: {ref.hint}"
                    )
                else:
                    kept.append(p)
            batch = kept

        # Within one file the first row with an id wins; later rows with it are rejected.
        key_of = self.key_of
        first_rows: dict[Any, _Pending] = {}
        for p in batch:
            key = key_of(p.values)
            first = first_rows.setdefault(key, p)
            if first is not p:
                self._reject(p, self.key_label, f"duplicate id: row {first.row} already carries it")

        table = spec.table
        names = spec.column_names
        stamp = self.ingested_at
        first_col = table.c[spec.key[0]]
        firsts = sorted(first_rows if len(spec.key) == 1 else {k[0] for k in first_rows})
        # Stored rows as tuples in ``names`` order plus one flag: stamped by this run? (Rows
        # as dicts and stamps read back as datetimes cost a tenth of a re-import's time.)
        cols = [*(table.c[c] for c in names), (table.c.ingested_at == stamp).label("mine")]
        mine = len(names)
        stored_key = itemgetter(*(names.index(k) for k in spec.key))
        compared = [(names.index(c), c) for c in present]
        existing: dict[Any, Sequence[Any]] = {}
        for chunk in _chunks(conn, firsts):
            for r in conn.execute(select(*cols).where(_among(conn, first_col, chunk))):
                existing[stored_key(r)] = r

        track_all = self.track_all
        seen: set[Any] = set()
        if self.seen_rows:
            seen = self._seen_among(
                conn,
                [
                    k
                    for k, old in existing.items()
                    if k in first_rows and (track_all or not old[mine])
                ],
            )
        earlier = "duplicate id: an earlier row of this file already carries it"
        inserts: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        new_seen: list[Any] = []
        for key, p in first_rows.items():
            old = existing.get(key)
            if old is None:
                row = p.values
                inserts.append((*(row[n] for n in names), stamp))
                if track_all:
                    new_seen.append(key)
            elif key in seen or (not track_all and old[mine]):
                self._reject(p, self.key_label, earlier)
            elif any(old[i] != p.values[c] for i, c in compared):
                updates.append(
                    {
                        **{f"b_{k}": p.values[k] for k in spec.key},
                        **{c: p.values[c] for c in present},
                        "ingested_at": stamp,
                    }
                )
                if track_all:
                    new_seen.append(key)
            else:
                summary.unchanged += 1
                new_seen.append(key)
        if inserts:
            insert_rows(conn, table, (*names, "ingested_at"), inserts)
            summary.inserted += len(inserts)
        if updates:
            where = and_(*(table.c[k] == bindparam(f"b_{k}") for k in spec.key))
            values: dict[str, BindParameter[Any]] = {
                c: bindparam(c) for c in (*present, "ingested_at")
            }
            conn.execute(table.update().where(where).values(values), updates)
            summary.updated += len(updates)
        if new_seen:
            self._remember(conn, new_seen)

    def _seen_among(self, conn: Connection, keys: Sequence[Any]) -> set[Any]:
        """Which of ``keys`` an earlier batch of this run accepted (per the temporary table)."""
        if not keys:
            return set()
        seen = self.seen
        first = seen.c[self.spec.key[0]]
        single = len(self.spec.key) == 1
        firsts = sorted(set(keys) if single else {k[0] for k in keys})
        found: set[Any] = set()
        for chunk in _chunks(conn, firsts):
            rows = conn.execute(select(*seen.c).where(_among(conn, first, chunk)))
            found.update(r[0] if single else tuple(r) for r in rows)
        return found

    def _remember(self, conn: Connection, keys: Sequence[Any]) -> None:
        if not self.seen_created:
            self._drop_seen(conn)  # left behind on a pooled connection by a crashed run
            self.seen.create(conn)
            self.seen_created = True
        key = self.spec.key
        if conn.dialect.name == "sqlite":  # one statement, one parameter: no per-row binding
            picked = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(key)))
            conn.exec_driver_sql(
                f"INSERT INTO temp.{_SEEN_TABLE} ({', '.join(key)}) "
                f"SELECT {'value' if len(key) == 1 else picked} FROM json_each(?)",
                (json.dumps(list(keys)),),
            )
        else:
            rows = [(k,) for k in keys] if len(key) == 1 else list(keys)
            insert_rows(conn, self.seen, key, rows)
        self.seen_rows += len(keys)


def load_team_ids(engine: Engine) -> frozenset[str]:
    """Team ids known to the database (for the unknown-team check)."""
    with engine.connect() as conn:
        return frozenset(conn.execute(select(table_of(Team).c.team_id)).scalars())


def _open_source(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading bytes; a clear :class:`FileRefused` when that cannot be done."""
    if path.is_dir():
        raise FileRefused(f"{path}: is a folder, not a CSV file")
    try:
        handle = path.open("rb", buffering=_READ_BUFFER)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such file") from None
    except OSError as exc:
        raise FileRefused(f"{path}: cannot open: {exc.strerror or exc}") from None
    assert isinstance(handle, io.BufferedReader)
    return handle


class _Lines:
    """The decoded lines of a CSV file, for :func:`csv.reader`, with exact error offsets.

    Lines are split on LF and decoded one by one, so a UTF-8 error is raised by the line that
    holds the bad byte: every record before it has been read whole. A file whose lines end in
    a lone CR (classic Mac) is read through a universal-newline text wrapper instead, which
    decodes ahead in chunks: there the offset of a bad byte is found by reading the file again.
    """

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        head = raw.peek(_READ_BUFFER)[:_READ_BUFFER]
        cr, lf = head.find(b"\r"), head.find(b"\n")
        self.exact = not (cr != -1 and (lf == -1 or cr < lf - 1))
        self.wrapper: io.TextIOWrapper | None = None
        self.iter: Iterable[str]
        if self.exact:
            first = raw.readline()
            skip = len(_BOM) if first.startswith(_BOM) else 0
            try:
                header = first[skip:].decode()
            except UnicodeDecodeError as exc:
                raise _BadBytes(skip + exc.start) from None
            # ``map`` keeps the per-line cost in C; :meth:`offset` locates its errors.
            self.iter = chain((header,), map(bytes.decode, raw))
        else:
            self.wrapper = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            self.iter = self.wrapper

    def offset(self, exc: UnicodeDecodeError) -> int:
        """The byte offset of the first byte that is not UTF-8."""
        if self.exact and isinstance(exc.object, bytes):
            return self.raw.tell() - len(exc.object) + exc.start
        return _first_bad_byte(self.raw)

    def close(self) -> None:
        """Close the text wrapper, if any (which closes the file)."""
        if self.wrapper is not None:
            self.wrapper.close()


class _BadBytes(Exception):
    """The first line of a file is not UTF-8 (``offset``: the first bad byte)."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def _first_bad_byte(raw: io.BufferedReader) -> int:
    """Read ``raw`` again from the start; the offset of its first byte that is not UTF-8."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    while True:
        chunk = raw.read(1 << 20)
        buffered = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return done - buffered + exc.start
        if not chunk:
            return done  # pragma: no cover - only called after a decoding error
        done += len(chunk)


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
        raw_file = stack.enter_context(_open_source(path))
        total = os.fstat(raw_file.fileno()).st_size
        if progress is not None:
            progress(0, total)
        try:
            lines = _Lines(raw_file)
        except _BadBytes as exc:
            raise FileRefused(_not_utf8_header(path, exc.offset)) from None
        stack.callback(lines.close)
        reader = csv.reader(lines.iter)
        try:
            mapped, warnings = _read_header(reader, spec, path)
        except UnicodeDecodeError as exc:
            raise FileRefused(_not_utf8_header(path, lines.offset(exc), lines.exact)) from None
        except csv.Error as exc:
            raise FileRefused(f"{path}: row 1: malformed CSV ({exc}); nothing imported") from None
        sink = _RejectSink(summary, rejects_path)
        stack.callback(sink.close)
        layout = Layout.build(mapped, spec)
        present = tuple(col.name for col, pos in layout.cols if pos is not None)
        summary.warnings.extend(warnings)
        writer = stack.enter_context(
            _BatchWriter(engine, spec, summary, sink, ingested_at, present)
        )
        batch: list[_Pending] = []
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
                batch.append(_Pending(row_no, values))
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
