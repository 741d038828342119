"""Writing validated rows in batches: insert new rows, update changed ones, reject duplicates.

A :class:`BatchWriter` is used as a context manager over one connection; each
:meth:`BatchWriter.write` is one transaction. Before writing, a batch's references (e.g. team
ids) are checked against the database; rows that name an unknown reference, and rows whose id
an earlier row of the same file already carries, become rejects on the import's
:class:`~frontdoor.import_report.RejectSink` and are counted in its summary. Identical rows are
left alone and counted as unchanged. Only the columns present in the file's header are compared
and updated. Duplicates across batches are found without holding every id of the file in
memory: by the ``ingested_at`` stamp of stored rows plus a temporary table (dropped on exit) of
the ids this run found unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from types import TracebackType
from typing import Any

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
from frontdoor.csvformat import SAFE_ID, FileSpec, safe_record_id, shown
from frontdoor.import_report import ImportSummary, PendingRow, Reject, RejectSink

_IN_CHUNK = 1000  # values per ``IN (...)`` list where a list cannot be one parameter
_SEEN_TABLE = "frontdoor_import_seen"


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


class BatchWriter:
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
        sink: RejectSink,
        ingested_at: datetime,
        present: Sequence[str],
        extra: Sequence[str] = (),
    ) -> None:
        """``present``: the contract columns the source carries (only those are compared and
        updated); ``extra``: table columns beyond the contract that every row's values
        carry (e.g. ``untimed`` from the Annex A and census imports), written and compared
        like present ones."""
        self.engine = engine
        self.spec = spec
        self.summary = summary
        self.sink = sink
        self.ingested_at = ingested_at
        self.present = (*present, *extra)
        self.names = (*spec.column_names, *extra)
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

    def __enter__(self) -> BatchWriter:
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

    def write(self, batch: Sequence[PendingRow]) -> None:
        """Write one batch in one transaction."""
        if not batch:
            return
        assert self._conn is not None, "use BatchWriter as a context manager"
        with self._conn.begin():
            self._write(self._conn, batch)

    def _reject(self, p: PendingRow, column: str, reason: str) -> None:
        rid = safe_record_id(str(p.values[self.spec.key[0]]))
        self.sink.pending.append(Reject(p.row, rid, column, reason))
        self.summary.rejected += 1

    def _write(self, conn: Connection, batch: Sequence[PendingRow]) -> None:
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
            kept: list[PendingRow] = []
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
        first_rows: dict[Any, PendingRow] = {}
        for p in batch:
            key = key_of(p.values)
            first = first_rows.setdefault(key, p)
            if first is not p:
                self._reject(p, self.key_label, f"duplicate id: row {first.row} already carries it")

        table = spec.table
        names = self.names
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
