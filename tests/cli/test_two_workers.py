"""Two `frontdoor run` workers on one PostgreSQL database: every digest goes out exactly
once. The database has never had a digest pass, so at start each worker would catch up the
latest slot and send one go-live summary to each of three managers; the advisory lock lets
one of them compute it, the outbox's unique key and delivery claims keep the rest safe."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from frontdoor import db, leader
from tests.cli.test_digest_smtp import MANAGERS, MON_0830, OUT, _env, _received_ids
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load
from tests.smtp_server import Cert, Security, Server


@pytest.fixture(name="pg_engine")
def _pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = db.make_engine(pg_url)
    db.migrate(engine)
    yield engine
    engine.dispose()


def test_the_lock_is_held_by_one_connection_at_a_time(pg_engine: Engine) -> None:
    with leader.exclusive(pg_engine, "digest") as first:
        assert first
        with leader.exclusive(pg_engine, "digest") as second:
            assert not second  # another session holds it
        with leader.exclusive(pg_engine, "scan") as other_job:
            assert other_job  # locks are per job
    with leader.exclusive(pg_engine, "digest") as again:
        assert again  # released


def test_sqlite_always_grants_the_lock(sqlite_engine: Engine) -> None:
    with (
        leader.exclusive(sqlite_engine, "digest") as a,
        leader.exclusive(sqlite_engine, "digest") as b,
    ):
        assert a
        assert b


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "frontdoor", "run"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def test_two_workers_send_each_digest_exactly_once(
    pg_url: str,
    pg_engine: Engine,
    start_server: Callable[[Security], Server],
    cert: Cert,
    tmp_path: Path,
) -> None:
    teams = [
        {**TEAM_ROW, "team_id": f"DAT-{x}", "manager_email": m}
        for x, m in zip("ABC", MANAGERS, strict=True)
    ]
    assert load(pg_engine, tmp_path, "teams", teams).rejected == 0
    contacts = [
        {"contact_id": f"C-{x}", "child_id": f"CH-{x}",
         "received_at": (MON_0830 - timedelta(days=3)).isoformat(), "team_id": f"DAT-{x}"}
        for x in "ABC"
    ]  # fmt: skip
    assert load(pg_engine, tmp_path, "contacts", contacts).rejected == 0
    server = start_server("starttls")
    env = {**_env(pg_url, server.port, cert), "FRONTDOOR_WEEKLY_REPORT_AT": "off"}
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_worker(env, log) for log in logs]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with pg_engine.connect() as conn:
                sent = conn.execute(select(OUT.sent_at)).scalars().all()
            if len(sent) >= 3 and all(s is not None for s in sent):
                break
            time.sleep(0.3)
        time.sleep(2)  # room for a second, duplicate send to show up
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
    text = "\n".join(log.read_text() for log in logs)
    assert codes == [0, 0], text
    received = _received_ids(server)
    assert len(received) == 3, text  # one go-live summary per manager ...
    assert set(received.values()) == {1}, text  # ... each exactly once
    with pg_engine.connect() as conn:
        assert len(conn.execute(select(OUT.id)).all()) == 3
    assert "job_failed" not in text
