"""``frontdoor sync``: read records straight from the council's reporting database.

For each entity of :data:`~frontdoor.sync_queries.SYNC_ENTITIES`, in dependency order, the
entity's query (:mod:`frontdoor.sync_queries`) runs on the source engine with the stored
watermark bound as ``since``. Rows are streamed (``yield_per``: a server-side cursor on
PostgreSQL), turned into the text the CSV importer reads and validated by the same
:func:`~frontdoor.importer.parse_row`, then written through the CSV importer's
:class:`~frontdoor.upsert.BatchWriter`: new rows inserted, changed rows updated, identical rows
left alone. Only the columns a query selects are compared and updated.

A row that fails validation is a :class:`SyncReject` (entity, source key when it looks like an
id, column, reason; never the offending free text) and is not written; the rest of the entity
is. The watermark (highest ``changed_at`` read) is stored in ``sync_watermark`` only after every
batch of the entity is committed, so a sync that dies part-way reads the same rows again next
time and finds the written ones unchanged. Rejected rows do not hold the watermark back: the
source is expected to bump a row's ``changed_at`` when it is corrected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError

from frontdoor.csvformat import (
    FILE_SPECS,
    Col,
    FileSpec,
    ParseContext,
    parse_date,
    safe_record_id,
)
from frontdoor.db import analyze, make_engine
from frontdoor.errors import UsageError
from frontdoor.import_report import (
    ImportSummary,
    KeepsRejects,
    PendingRow,
    Reject,
    RejectsFile,
    RejectSink,
)
from frontdoor.importer import Layout, load_team_ids, parse_row
from frontdoor.models import SyncWatermark, table_of
from frontdoor.sync_queries import SYNC_ENTITIES
from frontdoor.upsert import BatchWriter

#: Seconds a PostgreSQL source has to accept a connection (:func:`source_engine`).
CONNECT_TIMEOUT_S = 15
#: ``since`` before an entity's first sync: earlier than any record.
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
CHANGED_AT = "changed_at"
WATERMARK = table_of(SyncWatermark)
_NEW_TEAM = (
    "new team: the teams query selects no manager or service manager (EXTENSION columns, "
    "see docs/sources.md); import it from teams.csv first"
)


@dataclass(frozen=True)
class SyncReject:
    """One problem with one source row: ``record_id`` is its key when that looks like an id,
    else empty; ``reason`` never quotes free text."""

    entity: str
    record_id: str
    column: str
    reason: str

    def line(self) -> str:
        """One line for the terminal."""
        return f"{self.entity} {self.record_id or '(id not shown)'}: {self.column}: {self.reason}"


@dataclass
class EntityResult:
    """What sync did for one entity: counts (``read == inserted + updated + unchanged +
    rejected``), the watermark stored after it (None: no change column, read whole), and
    ``skipped`` (turned off by an empty override file) or ``error`` (nothing stored)."""

    entity: str
    summary: ImportSummary
    watermark: datetime | None = None
    skipped: bool = False
    error: str | None = None


@dataclass
class SyncReport(KeepsRejects[SyncReject]):
    """Per entity results in sync order; the first :data:`MAX_REJECTS_KEPT` rejects."""

    entities: list[EntityResult] = field(default_factory=list)
    rejects: list[SyncReject] = field(default_factory=list)
    problems: int = 0
    spill: RejectsFile | None = None

    @property
    def rejected(self) -> int:
        """Source rows not written."""
        return sum(e.summary.rejected for e in self.entities)

    @property
    def failed(self) -> bool:
        """True when an entity stopped with an error."""
        return any(e.error is not None for e in self.entities)


def _as_text(value: Any, col: Col, tz: ZoneInfo) -> str:
    """A source value as the CSV text :func:`parse_row` validates.

    Datetimes keep their offset; naive ones are local time in ``tz``, as in a CSV file. A
    datetime for a date column (SSD stores dates as DATETIME) gives its local date.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        if col.parse is parse_date:
            local = value.astimezone(tz) if value.tzinfo else value
            return local.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _aware(value: Any, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise UsageError(f"{CHANGED_AT} must be a date and time, got {type(value).__name__}")
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def source_engine(url: str) -> Engine:
    """The engine for the reporting database at ``url``. On PostgreSQL a connection attempt
    gives up after :data:`CONNECT_TIMEOUT_S` unless the URL sets ``connect_timeout``: the
    worker syncs on its one job thread, so a source that does not answer must not stall the
    scans and e-mails behind it. Long queries are bounded on the source's side
    (docs/sources.md: a ``statement_timeout`` on the read-only account)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        return make_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    return make_engine(url)


def stored_watermarks(engine: Engine) -> dict[str, datetime | None]:
    """The watermark stored per entity (entities never synced are absent)."""
    with engine.connect() as conn:
        rows = conn.execute(select(WATERMARK.c.entity, WATERMARK.c.watermark))
        return {r.entity: r.watermark for r in rows}


def _store_watermark(engine: Engine, entity: str, mark: datetime | None, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(WATERMARK.delete().where(WATERMARK.c.entity == entity))
        conn.execute(WATERMARK.insert().values(entity=entity, watermark=mark, synced_at=now))


def _spec_for(entity: str, names: Sequence[str]) -> tuple[FileSpec, bool]:
    """The spec to validate ``entity``'s rows with, and whether it may only update.

    A query without a required column is refused, except teams: SSD has no escalation
    contacts, so a teams query without them updates known teams only (new ones are rejected).
    """
    spec = FILE_SPECS[SYNC_ENTITIES[entity]]
    missing = [c.name for c in spec.columns if c.required and c.name not in names]
    if not missing:
        return spec, False
    if entity != "teams" or "team_id" in missing:
        raise UsageError(f"the {entity} query selects no {', '.join(missing)} (required)")
    relaxed = tuple(
        dataclasses.replace(c, required=False) if c.name in missing else c for c in spec.columns
    )
    return dataclasses.replace(spec, columns=relaxed), True


def sync(
    engine: Engine,
    source_engine: Engine,
    *,
    queries: Mapping[str, str | None],
    now: datetime,
    tz: ZoneInfo | None = None,
    default_team: str | None = None,
    batch_size: int = 1000,
    spill: RejectsFile | None = None,
) -> SyncReport:
    """Sync every entity of ``queries`` (None: skipped) from ``source_engine`` into ``engine``.

    ``now`` stamps changed rows (``ingested_at``) and the watermarks; it must be new for each
    run. ``tz`` is the zone of naive source datetimes (default Europe/London). Raises
    :class:`UsageError` when a query needs FRONTDOOR_DEFAULT_TEAM and none is set. An entity
    whose query fails or lacks a required column gets an ``error`` and sync stops there (later
    entities may depend on it); entities before it are committed with their watermarks.
    """
    zone = tz or ZoneInfo("Europe/London")
    report = SyncReport(spill=spill)
    marks = stored_watermarks(engine)
    for entity in SYNC_ENTITIES:
        summary = ImportSummary(kind=f"sync {entity}", path=Path(entity))
        result = EntityResult(entity, summary, watermark=marks.get(entity))
        report.entities.append(result)
        sql = queries.get(entity)
        if sql is None:
            result.skipped = True
            continue
        try:
            result.watermark = _sync_entity(
                engine,
                source_engine,
                entity,
                sql,
                result,
                report,
                now,
                zone,
                default_team,
                batch_size,
            )
        except UsageError as exc:
            result.error = str(exc)
        except SQLAlchemyError as exc:
            # The driver's message may quote source values (children's data): name the class.
            cause = type(getattr(exc, "orig", None) or exc).__name__
            result.error = f"the {entity} query failed ({cause}); check it against the source"
        if result.error is not None:
            break
        _store_watermark(engine, entity, result.watermark, now)
        if summary.inserted or summary.updated:
            analyze(engine, FILE_SPECS[SYNC_ENTITIES[entity]].table.name)
    return report


def _sync_entity(
    engine: Engine,
    source_engine: Engine,
    entity: str,
    sql: str,
    result: EntityResult,
    report: SyncReport,
    now: datetime,
    tz: ZoneInfo,
    default_team: str | None,
    batch_size: int,
) -> datetime | None:
    """Read, validate and write one entity; returns its new watermark (not yet stored)."""
    stmt = text(sql)
    wanted = set(stmt.compile().params)
    params: dict[str, Any] = {}
    if "since" in wanted:
        params["since"] = result.watermark or EPOCH
    if "default_team" in wanted:
        if not default_team:
            raise UsageError(
                f"the {entity} query uses the default team: set FRONTDOOR_DEFAULT_TEAM"
            )
        params["default_team"] = default_team
    summary = result.summary
    sink = RejectSink(summary, None)
    team_ids = load_team_ids(engine)  # reloaded per entity: teams are synced first
    ctx = ParseContext(tz, team_ids)
    mark = result.watermark
    with source_engine.connect() as src:
        rows = src.execution_options(yield_per=batch_size).execute(stmt, params)
        names = [k.lower() for k in rows.keys()]  # noqa: SIM118 - a Result, not a dict
        spec, update_only = _spec_for(entity, names)
        layout = Layout.build([n if n in spec.column_names else None for n in names], spec)
        cols = {pos: col for col, pos in layout.cols if pos is not None}
        changed = names.index(CHANGED_AT) if CHANGED_AT in names else None
        present = [c for c in spec.column_names if c in names]
        key = spec.key[0]
        seq = 0
        with BatchWriter(engine, spec, summary, sink, now, present) as writer:
            for part in rows.partitions():
                batch: list[PendingRow] = []
                for row in part:
                    seq += 1
                    summary.read += 1
                    if changed is not None:
                        at = _aware(row[changed], tz)
                        if at is not None and (mark is None or at > mark):
                            mark = at
                    raw = [_as_text(v, cols[i], tz) if i in cols else "" for i, v in enumerate(row)]
                    values, rejects = parse_row(raw, layout, spec, ctx, seq)
                    if values is not None and update_only and values[key] not in team_ids:
                        values = None
                        rid = safe_record_id(raw[layout.key_pos].strip())
                        rejects = [Reject(seq, rid, key, _NEW_TEAM)]
                    if values is None:
                        summary.rejected += 1
                        for r in rejects:
                            report.add_reject(SyncReject(entity, r.record_id, r.column, r.reason))
                        continue
                    batch.append(PendingRow(seq, values))
                writer.write(batch)
                for r in sorted(sink.pending, key=lambda r: r.row):
                    report.add_reject(SyncReject(entity, r.record_id, r.column, r.reason))
                sink.pending.clear()
    return mark
