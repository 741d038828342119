"""Acceptance: `frontdoor run` syncing from an SSD-shaped PostgreSQL source whose feed has
stopped sends the system owner exactly one "data feed stale" alert and no breach e-mail, across
restarts; once a new contact arrives, the held digests go out.

Real processes, a real SMTP server and the real clock: the source's newest contact is 20 days
old, so the feed is stale after one working hour whatever day the test runs on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, make_url, select, text

from tests.cli.test_digest_smtp import OUT, _env
from tests.conftest import REPO, _clean
from tests.factories import TEAM_ROW, load
from tests.integration.test_sync import SSD_DDL
from tests.smtp_server import Cert, Security, Server

OWNER = "it.owner@example.org"
MANAGER = TEAM_ROW["manager_email"]
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(name="fd")
def _fd(pg_engine_session: Engine) -> Iterator[Engine]:
    _clean(pg_engine_session)
    yield pg_engine_session
    _clean(pg_engine_session)


@pytest.fixture(name="source_url")
def _source_url(pg_url: str) -> Iterator[str]:
    """A schema of SSD tables in the test database, and a URL that reaches it."""
    schema = f"ssd_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'SET LOCAL search_path = "{schema}"'))
        conn.exec_driver_sql(SSD_DDL)
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _add_contact(source_url: str, contact_id: str, received_local: datetime) -> None:
    source = create_engine(source_url)
    with source.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ssd_contacts (cont_contact_id, cont_person_id, cont_contact_date, "
                "cont_contact_source_code) VALUES (:id, :person, :at, '5D')"
            ),
            {"id": contact_id, "person": f"P-{contact_id}", "at": received_local},
        )
    source.dispose()


def _events(log: Path) -> list[dict[str, object]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if line.startswith("{")]


def _run_until_started(env: dict[str, str], log: Path) -> list[dict[str, object]]:
    """Run `frontdoor run` until its start-up delivery pass has finished (and 2 s more for
    anything that should not happen), stop it with SIGTERM; return its log events."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "frontdoor", "run"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(
                e.get("event") == "job_finished" and e.get("job") == "delivery"
                for e in _events(log)
            ):
                break
            time.sleep(0.3)
        time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    events = _events(log)
    assert code == 0, log.read_text()
    assert not [e for e in events if e.get("event") in {"job_failed", "sync_failed"}], events
    return events


def _received(server: Server) -> list[tuple[str, str]]:
    out = []
    for r in server.handler.received:
        msg = message_from_bytes(r.content, policy=policy.default)
        out.append((str(msg["To"]), " ".join(str(msg["Subject"]).split())))
    return out


def test_a_stopped_feed_alerts_once_and_holds_breach_emails_until_it_moves(
    fd: Engine,
    pg_url: str,
    source_url: str,
    start_server: Callable[[Security], Server],
    cert: Cert,
    tmp_path: Path,
) -> None:
    assert load(fd, tmp_path, "teams", [TEAM_ROW]).rejected == 0
    now_local = datetime.now(LONDON).replace(tzinfo=None, microsecond=0)
    for n in range(3):  # open contacts, long overdue: a working feed would report them
        _add_contact(source_url, f"C{n}", now_local - timedelta(days=20, hours=n))
    server = start_server("starttls")
    env = {
        **_env(pg_url, server.port, cert),
        "FRONTDOOR_SYNC_URL": source_url,
        "FRONTDOOR_DEFAULT_TEAM": TEAM_ROW["team_id"],
        "FRONTDOOR_SYSTEM_OWNER_EMAIL": OWNER,
        "FRONTDOOR_FEED_STALE_AFTER": "1 working hour",
        "FRONTDOOR_FEED_HOURS": "00:00-23:59",
    }

    # 1. The feed has stopped: the sync brings the three contacts in, the owner is alerted,
    #    the digest and the weekly report are held.
    events = _run_until_started(env, tmp_path / "run-1.log")
    received = _received(server)
    assert len(received) == 1, received
    assert received[0][0] == OWNER
    assert received[0][1].startswith("frontdoor: data feed stale, no new contacts since ")
    held = {e["job"] for e in events if e.get("event") == "job_held_feed_stale"}
    assert held == {"digest", "weekly-report"}
    [scan] = [e for e in events if e.get("event") == "job_finished" and e["job"] == "full-scan"]
    assert (scan["sync_inserted"], scan["sync_rejected"], scan["feed_stale"]) == (3, 0, 1)
    with fd.connect() as conn:
        kinds = conn.execute(select(OUT.kind)).scalars().all()
    assert kinds == ["feed-stale"]

    # 2. A restart while the feed is still stopped: the same episode, no second alert.
    events = _run_until_started(env, tmp_path / "run-2.log")
    assert len(_received(server)) == 1
    assert {e["job"] for e in events if e.get("event") == "job_held_feed_stale"} == {
        "digest",
        "weekly-report",
    }

    # 3. The feed moves again: the next start syncs the new contact and the held e-mails go.
    _add_contact(source_url, "C-NEW", now_local - timedelta(minutes=2))
    events = _run_until_started(env, tmp_path / "run-3.log")
    assert not [e for e in events if e.get("event") == "job_held_feed_stale"]
    received = _received(server)
    assert [to for to, _ in received].count(OWNER) == 1  # still the one alert
    assert MANAGER in [to for to, _ in received], received  # the held digest went out
    with fd.connect() as conn:
        assert conn.execute(select(OUT.id).where(OUT.sent_at.is_(None))).all() == []
