"""Heartbeats (database adapter): when each scheduler job last finished successfully.

One row per job name, overwritten on every success and never on a failure, so an old row
means the job is failing or the scheduler is down. The ``detail`` column holds a compact JSON
object of the job's counts. Only numbers and booleans are stored: other values are dropped,
so no record content can reach the table (NaN and infinities are dropped too: they are not
JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor.models import Heartbeat, table_of

DETAIL_MAX = 1000  # the column's length


@dataclass(frozen=True)
class HeartbeatRow:
    """One job's last success and the counts it reported."""

    job: str
    last_ok_at: datetime
    detail: dict[str, object] = field(default_factory=dict)


def encode_detail(detail: Mapping[str, object]) -> str:
    """``detail`` as compact JSON (sorted keys), numbers and booleans only, at most
    :data:`DETAIL_MAX` characters: keys are dropped from the end until it fits."""
    counts = {
        str(k): v
        for k, v in sorted(detail.items())
        if isinstance(v, bool | int) or (isinstance(v, float) and math.isfinite(v))
    }
    keys = list(counts)
    while True:
        text = json.dumps({k: counts[k] for k in keys}, separators=(",", ":"))
        if len(text) <= DETAIL_MAX:
            return text
        keys.pop()


def beat(conn: Connection, job: str, *, now: datetime, detail: Mapping[str, object]) -> None:
    """Record that ``job`` finished successfully at ``now`` (insert or overwrite its row),
    in the caller's transaction."""
    table = table_of(Heartbeat)
    ins: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    text = encode_detail(detail)
    stmt = ins(table).values(job=job, last_ok_at=now, detail=text)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["job"], set_={"last_ok_at": now, "detail": text})
    )


def read_heartbeats(conn: Connection) -> dict[str, HeartbeatRow]:
    """Every job's heartbeat by job name. A detail that is not a JSON object reads as ``{}``."""
    h = table_of(Heartbeat).c
    out: dict[str, HeartbeatRow] = {}
    for job, last_ok_at, detail in conn.execute(select(h.job, h.last_ok_at, h.detail)):
        out[job] = HeartbeatRow(job=job, last_ok_at=last_ok_at, detail=_decode(detail))
    return out


def _decode(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
