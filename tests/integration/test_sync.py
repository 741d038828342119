"""``frontdoor sync`` against a real PostgreSQL source holding SSD-shaped tables.

The source tables live in a schema of their own in the test PostgreSQL database (reached
through ``search_path``, as a council's SSD database would be); the frontdoor side runs on
both engines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, create_engine, select, text

from frontdoor.cli import main
from frontdoor.errors import UsageError
from frontdoor.models import Assessment, Contact, S47Enquiry, Team, table_of
from frontdoor.sync import SyncReport, stored_watermarks, sync
from frontdoor.sync_queries import CONTACTS, DEFAULT_QUERIES, load_queries

SSD_DDL = """
CREATE TABLE ssd_department (dept_team_id varchar(48) PRIMARY KEY, dept_team_name varchar(255),
    dept_team_parent_id varchar(48), dept_team_parent_name varchar(255));
CREATE TABLE ssd_contacts (cont_contact_id varchar(48) PRIMARY KEY, cont_person_id varchar(48),
    cont_contact_date timestamp, cont_contact_source_code varchar(48),
    cont_contact_source_desc varchar(255), cont_contact_outcome_json varchar(4000),
    last_modified timestamptz);
CREATE TABLE ssd_cin_episodes (cine_referral_id varchar(48) PRIMARY KEY,
    cine_person_id varchar(48), cine_referral_date timestamp,
    cine_referral_source_code varchar(48), cine_referral_team varchar(48),
    cine_referral_nfa char(1));
CREATE TABLE ssd_s47_enquiry (s47e_s47_enquiry_id varchar(48) PRIMARY KEY,
    s47e_referral_id varchar(48), s47e_person_id varchar(48), s47e_s47_start_date timestamp,
    s47e_s47_end_date timestamp, s47e_s47_completed_by_team varchar(48));
CREATE TABLE ssd_initial_cp_conference (icpc_icpc_id varchar(48) PRIMARY KEY,
    icpc_s47_enquiry_id varchar(48), icpc_icpc_date timestamp);
CREATE TABLE ssd_cin_assessments (cina_assessment_id varchar(48) PRIMARY KEY,
    cina_person_id varchar(48), cina_referral_id varchar(48),
    cina_assessment_start_date timestamp, cina_assessment_auth_date timestamp,
    cina_assessment_team varchar(48));
"""

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(name="source")
def _source(pg_url: str) -> Iterator[Engine]:
    schema = f"ssd_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    source = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    with source.begin() as conn:
        conn.exec_driver_sql(SSD_DDL)
    try:
        yield source
    finally:
        source.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _run(source: Engine, sql: str, **params: Any) -> None:
    with source.begin() as conn:
        conn.execute(text(sql), params)


def _teams(engine: Engine, *ids: str) -> None:
    with engine.begin() as conn:
        for team_id in ids:
            conn.execute(
                table_of(Team)
                .insert()
                .values(
                    team_id=team_id,
                    team_name=f"old {team_id}",
                    manager_name="M",
                    manager_email="m@example.org",
                    service_manager_name="S",
                    service_manager_email="s@example.org",
                    ingested_at=T0 - timedelta(days=1),
                )
            )


def _counts(report: SyncReport, entity: str) -> tuple[int, int, int, int, int]:
    s = next(e for e in report.entities if e.entity == entity).summary
    return s.read, s.inserted, s.updated, s.unchanged, s.rejected


def _load_ssd(source: Engine) -> None:
    _run(
        source,
        "INSERT INTO ssd_department VALUES ('DAT-A', 'Duty A', NULL, NULL), "
        "('NEW-T', 'New team', NULL, NULL)",
    )
    _run(
        source,
        "INSERT INTO ssd_contacts VALUES "
        "('C1', 'P1', '2026-11-20 10:15', '1A', 'Individual', '{}', NULL), "
        "('C2', 'P2', '2026-11-20 11:00', '5D', 'Police', '{}', NULL)",
    )
    _run(
        source,
        "INSERT INTO ssd_cin_episodes VALUES ('R1', 'P1', '2026-11-20 12:00', '1A', 'DAT-A', 'N')",
    )
    _run(
        source,
        "INSERT INTO ssd_s47_enquiry VALUES ('S1', 'R1', 'P1', '2026-11-21 00:00', NULL, 'DAT-A')",
    )
    _run(source, "INSERT INTO ssd_initial_cp_conference VALUES ('I1', 'S1', '2026-11-28 00:00')")
    _run(
        source,
        "INSERT INTO ssd_cin_assessments VALUES "
        "('A1', 'P1', 'R1', '2026-11-20 00:00', '2026-11-25 00:00', 'DAT-A')",
    )


def test_default_ssd_queries(engine: Engine, source: Engine) -> None:
    _teams(engine, "DAT-A")
    _load_ssd(source)
    queries = load_queries(None)
    report = sync(engine, source, queries=queries, now=T0, default_team="DAT-A")
    assert not report.failed
    # The default teams query has no escalation contacts: it renames known teams only.
    assert _counts(report, "teams") == (2, 0, 1, 0, 1)
    assert [(r.entity, r.record_id, r.column) for r in report.rejects] == [
        ("teams", "NEW-T", "team_id")
    ]
    assert "EXTENSION" in report.rejects[0].reason
    assert _counts(report, "contacts") == (2, 2, 0, 0, 0)
    assert _counts(report, "referrals") == (1, 1, 0, 0, 0)
    assert _counts(report, "s47_enquiries") == (1, 1, 0, 0, 0)
    assert _counts(report, "assessments") == (1, 1, 0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(table_of(Team).c.team_name)).scalar_one() == "Duty A"
        c1 = conn.execute(
            select(table_of(Contact)).where(table_of(Contact).c.contact_id == "C1")
        ).one()
        s1 = conn.execute(select(table_of(S47Enquiry))).one()
        a1 = conn.execute(select(table_of(Assessment))).one()
    # Naive source times are Europe/London local time (GMT in November).
    assert c1.received_at == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert (c1.team_id, c1.source, c1.outcome_at) == ("DAT-A", "1A", None)
    assert (s1.start_date, s1.icpc_date) == (date(2026, 11, 21), date(2026, 11, 28))
    assert (a1.referral_id, a1.authorised_date) == ("R1", date(2026, 11, 25))
    # No change column in SSD: the watermark stays empty and the next run reads everything,
    # finding it unchanged.
    assert stored_watermarks(engine)["contacts"] is None
    again = sync(engine, source, queries=queries, now=T0 + timedelta(hours=1), default_team="DAT-A")
    assert _counts(again, "contacts") == (2, 0, 0, 2, 0)
    assert _counts(again, "assessments") == (1, 0, 0, 1, 0)


INCREMENTAL_CONTACTS = """
SELECT c.cont_contact_id AS contact_id, c.cont_person_id AS child_id,
       c.cont_contact_date AS received_at, :default_team AS team_id,
       c.cont_contact_source_code AS source, c.last_modified AS changed_at
FROM ssd_contacts c
WHERE c.last_modified > :since
ORDER BY c.last_modified
"""


def test_incremental_with_change_column(engine: Engine, source: Engine) -> None:
    _teams(engine, "DAT-A")
    _run(
        source,
        "INSERT INTO ssd_contacts VALUES "
        "('C1', 'P1', '2026-11-20 10:15', '1A', NULL, NULL, '2026-11-20 10:16+00'), "
        "('C2', 'P2', '2026-11-20 11:00', '5D', NULL, NULL, '2026-11-20 11:01+00'), "
        "('C3', 'P3', '2026-11-20 11:30', '2A', NULL, NULL, '2026-11-20 11:31+00')",
    )
    queries: dict[str, str | None] = {"contacts": INCREMENTAL_CONTACTS}
    first = sync(engine, source, queries=queries, now=T0, default_team="DAT-A")
    assert _counts(first, "contacts") == (3, 3, 0, 0, 0)
    assert stored_watermarks(engine)["contacts"] == datetime(2026, 11, 20, 11, 31, tzinfo=UTC)
    assert next(e for e in first.entities if e.entity == "teams").skipped

    # One row changes (new source code), one is added; the third is untouched.
    _run(
        source,
        "UPDATE ssd_contacts SET cont_contact_source_code = '3A', "
        "last_modified = '2026-11-21 09:00+00' WHERE cont_contact_id = 'C2'",
    )
    _run(
        source,
        "INSERT INTO ssd_contacts VALUES "
        "('C4', 'P4', '2026-11-21 09:30', '1A', NULL, NULL, '2026-11-21 09:31+00')",
    )
    second = sync(
        engine, source, queries=queries, now=T0 + timedelta(hours=1), default_team="DAT-A"
    )
    assert _counts(second, "contacts") == (2, 1, 1, 0, 0)
    assert stored_watermarks(engine)["contacts"] == datetime(2026, 11, 21, 9, 31, tzinfo=UTC)
    with engine.connect() as conn:
        contact = table_of(Contact)
        rows = {r.contact_id: r.source for r in conn.execute(select(contact))}
    assert rows == {"C1": "1A", "C2": "3A", "C3": "2A", "C4": "1A"}

    third = sync(engine, source, queries=queries, now=T0 + timedelta(hours=2), default_team="DAT-A")
    assert _counts(third, "contacts") == (0, 0, 0, 0, 0)


def test_bad_rows_are_rejected_with_key_and_reason(engine: Engine, source: Engine) -> None:
    _teams(engine, "DAT-A")
    _run(
        source,
        "INSERT INTO ssd_contacts VALUES "
        "('C1', 'P1', '2026-11-20 10:15', '1A', NULL, NULL, NULL), "
        "('C2', 'P2', '2026-11-20 11:00', 'Phoned by gran', NULL, NULL, NULL), "
        "('C3', 'P3', NULL, '1A', NULL, NULL, NULL)",
    )
    _run(
        source,
        "INSERT INTO ssd_cin_episodes VALUES ('R1', 'P1', '2026-11-20 12:00', '1A', 'NOPE', 'N')",
    )
    queries: dict[str, str | None] = {
        "contacts": DEFAULT_QUERIES["contacts"],
        "referrals": DEFAULT_QUERIES["referrals"],
    }
    report = sync(engine, source, queries=queries, now=T0, default_team="DAT-A")
    assert _counts(report, "contacts") == (3, 1, 0, 0, 2)
    assert _counts(report, "referrals") == (1, 0, 0, 0, 1)
    got = [(r.entity, r.record_id, r.column) for r in report.rejects]
    assert got == [
        ("contacts", "C2", "source"),
        ("contacts", "C3", "received_at"),
        ("referrals", "R1", "team_id"),
    ]
    # The free text typed into the code column is never repeated.
    assert all("gran" not in r.reason for r in report.rejects)
    assert "not shown" in report.rejects[0].reason


def test_missing_default_team_and_broken_query(engine: Engine, source: Engine) -> None:
    report = sync(engine, source, queries={"contacts": CONTACTS}, now=T0)
    contacts = next(e for e in report.entities if e.entity == "contacts")
    assert contacts.error is not None
    assert "FRONTDOOR_DEFAULT_TEAM" in contacts.error
    assert "contacts" not in stored_watermarks(engine)

    broken = sync(engine, source, queries={"teams": "SELECT nope FROM ssd_department"}, now=T0)
    teams = broken.entities[0]
    assert teams.error is not None
    assert "teams query failed" in teams.error
    assert [e.entity for e in broken.entities] == ["teams"]  # sync stops at the failure


@pytest.fixture(name="cli_logging")
def _cli_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()  # main() pointed structlog at this test's captured stderr


@pytest.mark.usefixtures("cli_logging")
def test_cli_sync(
    sqlite_engine: Engine,
    source: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The frontdoor side on SQLite only: main() leaves its own engine to the process exit.
    engine = sqlite_engine
    monkeypatch.chdir(tmp_path)  # the default folder of sync.rejects.csv
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("FRONTDOOR_SYNC_URL", raising=False)
    assert main(["sync"]) == 2
    assert "FRONTDOOR_SYNC_URL is not set" in capsys.readouterr().err

    _teams(engine, "DAT-A")
    _load_ssd(source)
    with source.connect() as conn:
        current = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = source.url.set(query={"options": f"-csearch_path={current}"})
    monkeypatch.setenv("FRONTDOOR_SYNC_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("FRONTDOOR_DEFAULT_TEAM", "DAT-A")
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "teams.sql").write_text("\n", encoding="utf-8")  # teams come from teams.csv
    monkeypatch.setenv("FRONTDOOR_SYNC_QUERIES_DIR", str(queries))
    code = main(["sync"])
    out = capsys.readouterr().out
    assert out.startswith(f"sync from {url.render_as_string(hide_password=True)}")
    if url.password:
        assert str(url.password) not in out
    assert code == 0
    assert "teams: skipped" in out
    assert "contacts: read 2, inserted 2, updated 0, unchanged 0, rejected 0" in out
    assert "watermark none" in out

    _run(
        source,
        "UPDATE ssd_contacts SET cont_contact_source_code = 'junk!' WHERE cont_contact_id = 'C1'",
    )
    assert not (tmp_path / "sync.rejects.csv").exists()  # none until a row is rejected
    assert main(["sync", "--report-dir", str(tmp_path / "rejects")]) == 1
    out = capsys.readouterr().out
    assert "contacts: read 2, inserted 0, updated 0, unchanged 1, rejected 1" in out
    assert "contacts C1: source: unknown source code" in out
    saved = tmp_path / "rejects" / "sync.rejects.csv"
    assert f"every reject: {saved}" in out
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "entity,record_id,column,reason"
    assert lines[1] == 'contacts,C1,source,"unknown source code (5 characters, not shown)"'
    assert "junk" not in saved.read_text(encoding="utf-8")


def test_query_overrides(tmp_path: Path) -> None:
    (tmp_path / "contacts.sql").write_text("SELECT 1 AS contact_id", encoding="utf-8")
    (tmp_path / "teams.sql").write_text("  \n", encoding="utf-8")
    queries = load_queries(tmp_path)
    assert queries["contacts"] == "SELECT 1 AS contact_id"
    assert queries["teams"] is None
    assert queries["referrals"] == DEFAULT_QUERIES["referrals"]
    (tmp_path / "contact.sql").write_text("SELECT 1", encoding="utf-8")
    with pytest.raises(UsageError, match="not a sync entity"):
        load_queries(tmp_path)
    with pytest.raises(UsageError, match="not a folder"):
        load_queries(tmp_path / "missing")
