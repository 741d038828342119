"""``frontdoor run`` as a real process (starts, writes heartbeats, stops cleanly on SIGTERM
and SIGINT; refuses to start without SMTP settings) and ``frontdoor status`` through
``cli.main`` (exit 0 healthy, 1 stale or missing, 2 bad option, 3 unmigrated)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine

from frontdoor import db
from frontdoor.cli import main
from frontdoor.heartbeat import beat, read_heartbeats
from tests.smtp_server import free_port

TIMEOUT_S = 30


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any FRONTDOOR_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDOOR_")}
    env.update(extra)
    return env


@pytest.fixture(name="db_url")
def _db_url(tmp_path: Path) -> str:
    """A migrated SQLite file in tmp_path."""
    url = f"sqlite:///{tmp_path / 'frontdoor.sqlite3'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


def heartbeats(url: str) -> dict[str, Any]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return read_heartbeats(conn)
    finally:
        engine.dispose()


def start_run(tmp_path: Path, db_url: str) -> subprocess.Popen[str]:
    env = clean_env(
        FRONTDOOR_DATABASE_URL=db_url,
        FRONTDOOR_SMTP_HOST="127.0.0.1",
        FRONTDOOR_SMTP_PORT=str(free_port()),  # nothing listens: nothing is due to be sent
        FRONTDOOR_SMTP_SENDER="frontdoor@example.org",
        FRONTDOOR_SMTP_TLS="none",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "frontdoor", "run"],
        cwd=tmp_path,  # no .env file here
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events(stderr: str) -> list[dict[str, Any]]:
    """The JSON log lines (stderr is not a terminal, so the CLI logs JSON)."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_writes_start_up_heartbeats_and_stops_cleanly_on_a_signal(
    tmp_path: Path, db_url: str, sig: signal.Signals
) -> None:
    proc = start_run(tmp_path, db_url)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"frontdoor run exited early with {proc.returncode}:\n{err}")
            seen = heartbeats(db_url)
            if {"full-scan", "delivery"} <= set(seen):
                break
            time.sleep(0.2)
        assert {"full-scan", "delivery"} <= set(seen), f"no start-up heartbeats: {seen}"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == ""
    assert "scheduler_stopped" in err
    logged = events(err)
    names = [e["event"] for e in logged]
    assert names[-1] == "scheduler_stopped"
    started = next(e for e in logged if e["event"] == "scheduler_started")
    assert started["jobs"] == ["full-scan", "scan", "digest", "weekly-report", "delivery"]
    finished = [e["job"] for e in logged if e["event"] == "job_finished"]
    assert finished[:4] == ["full-scan", "digest", "weekly-report", "delivery"]
    assert {"event": "scheduler_stopping", "signal": sig.name} == {
        k: v
        for k, v in next(e for e in logged if e["event"] == "scheduler_stopping").items()
        if k in ("event", "signal")
    }
    assert "job_failed" not in names
    assert "Traceback" not in err


def test_run_without_an_smtp_host_exits_2_naming_the_variable(tmp_path: Path, db_url: str) -> None:
    env = clean_env(FRONTDOOR_DATABASE_URL=db_url, FRONTDOOR_SMTP_SENDER="frontdoor@example.org")
    result = subprocess.run(
        [sys.executable, "-m", "frontdoor", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "FRONTDOOR_SMTP_HOST" in result.stderr
    assert "scheduler_started" not in result.stderr
    assert heartbeats(db_url) == {}


# --- status (in process) ----------------------------------------------------------------------


@pytest.fixture(name="home")
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No FRONTDOOR_* variables and no .env file; the database is tmp_path/data's default."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
    structlog.reset_defaults()  # main() pointed structlog at this test's captured stderr


def home_engine(home: Path) -> Engine:
    return db.make_engine(f"sqlite:///{home / 'data' / 'frontdoor.sqlite3'}")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def put_heartbeat(home: Path, job: str, age: timedelta) -> None:
    engine = home_engine(home)
    try:
        with engine.begin() as conn:
            beat(conn, job, now=datetime.now(UTC) - age, detail={"findings": 0})
    finally:
        engine.dispose()


@pytest.fixture(name="migrated")
def _migrated(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli(capsys, "migrate")[0] == 0
    return home


def test_status_without_any_heartbeat_exits_1_and_says_stale(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "status")
    assert code == 1
    assert ": STALE: no scheduled scan has ever finished" in out.splitlines()[0]


def test_status_with_a_fresh_heartbeat_exits_0(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put_heartbeat(migrated, "full-scan", timedelta(minutes=1))
    code, out, _ = cli(capsys, "status")
    assert code == 0
    assert out.splitlines()[0].endswith(": OK")
    assert "Outbox: 0 pending, 0 failed in the last 7 days" in out


def test_status_json_prints_one_document(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put_heartbeat(migrated, "scan", timedelta(minutes=2))
    code, out, _ = cli(capsys, "status", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["healthy"] is True
    assert doc["max_age_minutes"] == 45
    assert doc["jobs"]["scan"]["detail"] == {"findings": 0}
    assert doc["outbox"]["pending"] == 0


def test_status_max_age_option_and_setting_decide_staleness(
    migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    put_heartbeat(migrated, "scan", timedelta(minutes=30))
    assert cli(capsys, "status")[0] == 0  # default 45 minutes
    code, out, _ = cli(capsys, "status", "--max-age-minutes", "20", "--json")
    assert code == 1
    assert json.loads(out)["stale"] is True
    monkeypatch.setenv("FRONTDOOR_HEARTBEAT_MAX_AGE_MINUTES", "25")
    assert cli(capsys, "status")[0] == 1
    assert cli(capsys, "status", "--max-age-minutes", "40")[0] == 0


def test_status_refuses_a_max_age_below_one_minute(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "status", "--max-age-minutes", "0")
    assert code == 2
    assert "--max-age-minutes" in err


def test_status_on_an_unmigrated_database_exits_3(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "status")
    assert code == 3
    assert "frontdoor migrate" in err
