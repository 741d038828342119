"""Small helpers that write contract CSV files and import them (test data builders)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from frontdoor.csvformat import FILE_SPECS, ParseContext
from frontdoor.import_report import ImportSummary
from frontdoor.importer import import_csv, load_team_ids

LONDON = ZoneInfo("Europe/London")
INGESTED = datetime(2026, 1, 1, tzinfo=UTC)

TEAM_ROW = {
    "team_id": "DAT-A",
    "team_name": "Duty and Advice Team A",
    "manager_name": "Team Manager A",
    "manager_email": "tm.a@example.org",
    "service_manager_name": "Service Manager One",
    "service_manager_email": "sm.one@example.org",
}


def write_csv(path: Path, rows: Sequence[Mapping[str, object]], header: Sequence[str]) -> Path:
    """Write ``rows`` (missing keys as empty cells) under ``header``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in header])
    return path


def load(
    engine: Engine,
    tmp_path: Path,
    kind: str,
    rows: Sequence[Mapping[str, object]],
    *,
    header: Sequence[str] | None = None,
    ingested_at: datetime = INGESTED,
) -> ImportSummary:
    """Write ``rows`` as the ``kind`` file and import it; return the summary."""
    spec = FILE_SPECS[kind]
    path = write_csv(tmp_path / f"{kind}.csv", rows, header or spec.column_names)
    ctx = ParseContext(tz=LONDON, team_ids=load_team_ids(engine))
    return import_csv(engine, kind, path, ctx=ctx, ingested_at=ingested_at, batch_size=100)


def load_team(engine: Engine, tmp_path: Path, team_id: str = "DAT-A") -> None:
    """Import one team."""
    summary = load(engine, tmp_path, "teams", [{**TEAM_ROW, "team_id": team_id}])
    assert summary.rejected == 0
