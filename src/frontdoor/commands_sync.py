"""``frontdoor sync``: bring records in from the council's reporting (SSD) database.

Prints, per entity, what was read, inserted, updated, left unchanged and rejected, and the
watermark stored after it. Exit status: 0 when every row was written, 1 when any row was
rejected, 2 when FRONTDOOR_SYNC_URL is not set or an entity could not be synced (its query
failed or lacks a required column; entities before it are committed). The source URL is
only ever shown with its password hidden.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine, make_url

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.commands_sources import print_rejects, rejects_file
from frontdoor.import_report import RejectsFile
from frontdoor.sync import SyncReport, source_engine, sync
from frontdoor.sync_queries import load_queries

log = structlog.get_logger()


def run_sync(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """Sync every entity from FRONTDOOR_SYNC_URL into the frontdoor database; every reject
    goes to ``sync.rejects.csv`` in ``args.report_dir`` (default: the working folder)."""
    settings = app.settings
    if not settings.sync_url:
        sys.stderr.write(
            "error: FRONTDOOR_SYNC_URL is not set: give the SQLAlchemy URL of the council's "
            "reporting database (a read-only account), e.g. "
            "mssql+pyodbc://reader@server/ssd?driver=ODBC+Driver+18+for+SQL+Server\n"
        )
        return 2
    db.require_current_schema(app.engine)
    shown_url = make_url(settings.sync_url).render_as_string(hide_password=True)
    queries = load_queries(settings.sync_queries_dir)
    source = source_engine(settings.sync_url)
    target = (args.report_dir or Path.cwd()) / "sync.rejects.csv"
    try:
        with rejects_file(target) as spill:
            report = sync_once(app, source, queries, now=now, spill=spill)
    finally:
        source.dispose()
    print_report(report, shown_url)
    log.info(
        "sync_finished",
        rejected=report.rejected,
        failed=report.failed,
        **{
            f"{e.entity}_{n}": getattr(e.summary, n)
            for e in report.entities
            for n in ("read", "inserted", "updated", "unchanged", "rejected")
        },
    )
    if report.failed:
        return 2
    return 1 if report.rejected else 0


def sync_once(
    app: App,
    source: Engine,
    queries: Mapping[str, str | None],
    *,
    now: datetime,
    spill: RejectsFile | None = None,
) -> SyncReport:
    """One :func:`~frontdoor.sync.sync` from ``source`` with the app's settings (zone,
    default team, batch size): what ``frontdoor sync`` and the worker both run."""
    settings = app.settings
    return sync(
        app.engine,
        source,
        queries=queries,
        now=now,
        tz=settings.zone,
        default_team=settings.default_team,
        batch_size=min(settings.import_batch_size, 5000),
        spill=spill,
    )


def print_report(report: SyncReport, source: str, *, limit: int = 10) -> None:
    """The human report on stdout; the first ``limit`` rejects too."""
    out = sys.stdout.write
    out(f"sync from {source}\n")
    for e in report.entities:
        if e.skipped:
            out(f"  {e.entity}: skipped (empty query file)\n")
            continue
        s = e.summary
        mark = e.watermark.isoformat() if e.watermark else "none (read whole each time)"
        out(
            f"  {e.entity}: read {s.read}, inserted {s.inserted}, updated {s.updated}, "
            f"unchanged {s.unchanged}, rejected {s.rejected}; watermark {mark}\n"
        )
        if e.error is not None:
            out(f"  {e.entity}: error: {e.error}; nothing after it was synced\n")
    print_rejects(out, report.problems, report.rejects, limit=limit, saved=report.spill)
