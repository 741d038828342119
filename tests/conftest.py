"""Shared fixtures: database engines on SQLite and PostgreSQL, settings and the calendar.

Every database test runs on both engines through the ``engine`` fixture. PostgreSQL is the
server at 127.0.0.1:5432 (override with FRONTDOOR_TEST_PG_URL); each test session creates its
own throwaway database there and drops it at the end. Without a reachable server the
PostgreSQL half is skipped with the reason, except under CI (CI=true), where it fails: CI
must prove both engines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from frontdoor import db
from frontdoor.clock import WorkingCalendar, england_calendar
from tests.smtp_server import _cert, _client_tls, _start_server  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "FRONTDOOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(name="calendar", scope="session")
def _calendar() -> WorkingCalendar:
    return england_calendar()


@pytest.fixture(name="pg_url", scope="session")
def _pg_url() -> Iterator[str]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        admin.dispose()
        reason = f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string()}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    name = f"frontdoor_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated(url: str) -> Engine:
    engine = db.make_engine(url)
    db.migrate(engine)
    return engine


@pytest.fixture(name="sqlite_engine_session", scope="session")
def _sqlite_engine_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
    engine = _migrated(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(name="pg_engine_session", scope="session")
def _pg_engine_session(pg_url: str) -> Iterator[Engine]:
    engine = _migrated(pg_url)
    yield engine
    engine.dispose()


def _clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(name="engine", params=["sqlite", "postgresql"])
def _engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each engine in turn."""
    fixture = "sqlite_engine_session" if request.param == "sqlite" else "pg_engine_session"
    engine: Engine = request.getfixturevalue(fixture)
    _clean(engine)
    yield engine
    _clean(engine)


@pytest.fixture(name="sqlite_engine")
def _sqlite_engine(sqlite_engine_session: Engine) -> Iterator[Engine]:
    """A migrated, empty SQLite database (for tests that need only one engine)."""
    _clean(sqlite_engine_session)
    yield sqlite_engine_session
    _clean(sqlite_engine_session)
