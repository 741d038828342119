"""Heartbeats and ``frontdoor status`` on both engines: fresh, stale and missing heartbeats,
the outbox backlog (pending, oldest pending, failures in the last 7 days), the last scan state
and the last message sent, as text and as JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from frontdoor.heartbeat import DETAIL_MAX, beat, encode_detail, read_heartbeats
from frontdoor.models import Heartbeat, Outbox, ScanState, table_of
from frontdoor.status import Status, gather_status, print_status, status_document

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday, GMT
MAX_AGE = timedelta(minutes=45)
LONDON = ZoneInfo("Europe/London")


def status_at(engine: Engine, now: datetime = NOW, max_age: timedelta = MAX_AGE) -> Status:
    with engine.connect() as conn:
        return gather_status(conn, now=now, max_age=max_age)


def heartbeat(engine: Engine, job: str, at: datetime, **detail: object) -> None:
    with engine.begin() as conn:
        beat(conn, job, now=at, detail=detail)


_seq = iter(range(1, 10_000))


def outbox_row(
    engine: Engine,
    *,
    created_at: datetime,
    sent_at: datetime | None = None,
    failed_at: datetime | None = None,
    recipient: str = "tm.a@example.org",
) -> None:
    n = next(_seq)
    with engine.begin() as conn:
        conn.execute(
            insert(table_of(Outbox)).values(
                recipient=recipient,
                kind="digest",
                level=1,
                slot=created_at + timedelta(seconds=n),  # unique per (recipient, kind, slot)
                message_id=f"<digest-{n}@council.example>",
                subject="Overdue items",
                item_count=1,
                message="Subject: Overdue items\r\n\r\nbody\r\n",
                created_at=created_at,
                attempts=1 if (sent_at or failed_at) else 0,
                sent_at=sent_at,
                failed_at=failed_at,
            )
        )


# --- heartbeat adapter -----------------------------------------------------------------------


def test_beat_inserts_then_overwrites_one_row_per_job(engine: Engine) -> None:
    heartbeat(engine, "scan", NOW - timedelta(minutes=30), new_breaches=2)
    heartbeat(engine, "scan", NOW, new_breaches=5, resolved_breaches=1)
    heartbeat(engine, "delivery", NOW, sent=0)
    with engine.connect() as conn:
        rows = read_heartbeats(conn)
        stored = conn.execute(table_of(Heartbeat).select()).all()
    assert len(stored) == 2
    assert rows["scan"].last_ok_at == NOW
    assert rows["scan"].detail == {"new_breaches": 5, "resolved_breaches": 1}
    assert rows["delivery"].detail == {"sent": 0}


def test_heartbeat_detail_keeps_numbers_only_and_fits_the_column(engine: Engine) -> None:
    text = encode_detail({"b": 2, "a": 1.5, "ok": True, "name": "Smith", "ids": [1], "x": None})
    assert text == '{"a":1.5,"b":2,"ok":true}'
    many = {f"count_{i:04d}": i for i in range(200)}
    assert len(encode_detail(many)) <= DETAIL_MAX
    heartbeat(engine, "full-scan", NOW, **many)
    with engine.connect() as conn:
        detail = read_heartbeats(conn)["full-scan"].detail
    assert 0 < len(detail) < 200
    assert all(many[k] == v for k, v in detail.items())


# --- status -----------------------------------------------------------------------------------


def test_a_fresh_scan_heartbeat_is_healthy(engine: Engine) -> None:
    heartbeat(engine, "scan", NOW - timedelta(minutes=10), new_breaches=1)
    st = status_at(engine)
    assert st.healthy
    assert not st.stale
    assert st.problem is None
    assert st.last_scan_at == NOW - timedelta(minutes=10)


def test_a_fresh_full_scan_alone_is_healthy(engine: Engine) -> None:
    heartbeat(engine, "scan", NOW - timedelta(hours=3))
    heartbeat(engine, "full-scan", NOW - timedelta(minutes=44))
    assert status_at(engine).healthy


def test_scan_heartbeats_older_than_the_max_age_are_stale(engine: Engine) -> None:
    heartbeat(engine, "scan", NOW - timedelta(minutes=46))
    heartbeat(engine, "full-scan", NOW - timedelta(hours=2))
    heartbeat(engine, "delivery", NOW)  # other jobs do not count
    heartbeat(engine, "digest", NOW)
    st = status_at(engine)
    assert st.stale
    assert not st.healthy
    assert st.problem == "no scheduled scan has finished in the last 45 minutes"
    # A longer max age makes the same data healthy.
    assert status_at(engine, max_age=timedelta(minutes=50)).healthy


def test_no_heartbeat_at_all_is_stale(engine: Engine) -> None:
    st = status_at(engine)
    assert st.stale
    assert st.last_scan_at is None
    assert st.problem is not None
    assert "ever" in st.problem


def test_outbox_backlog_counts_pending_and_failures_of_the_last_7_days(engine: Engine) -> None:
    oldest = NOW - timedelta(hours=5)
    outbox_row(engine, created_at=oldest)  # pending
    outbox_row(engine, created_at=NOW - timedelta(hours=1))  # pending
    sent = NOW - timedelta(minutes=20)
    outbox_row(engine, created_at=NOW - timedelta(hours=2), sent_at=sent)
    outbox_row(engine, created_at=NOW - timedelta(days=1), sent_at=NOW - timedelta(days=1))
    outbox_row(engine, created_at=NOW - timedelta(days=2), failed_at=NOW - timedelta(days=1))
    outbox_row(engine, created_at=NOW - timedelta(days=9), failed_at=NOW - timedelta(days=8))
    st = status_at(engine)
    assert st.pending == 2
    assert st.oldest_pending_at == oldest
    assert st.failed_recently == 1
    assert st.last_sent_at == sent


def test_an_empty_outbox_and_scan_state_read_as_none(engine: Engine) -> None:
    st = status_at(engine)
    assert (st.pending, st.oldest_pending_at, st.failed_recently) == (0, None, 0)
    assert st.last_sent_at is None
    assert st.last_scan_state_at is None


def test_last_scan_state_is_the_newest_ran_at(engine: Engine) -> None:
    with engine.begin() as conn:
        for rule, ran in (("contact-decision", 30), ("referral-decision", 5)):
            conn.execute(
                insert(table_of(ScanState)).values(
                    rule_id=rule,
                    cutoff=NOW - timedelta(days=1),
                    ran_at=NOW - timedelta(minutes=ran),
                    rule_fingerprint="f" * 64,
                )
            )
    assert status_at(engine).last_scan_state_at == NOW - timedelta(minutes=5)


def test_status_text_and_json_report_jobs_and_outbox(engine: Engine) -> None:
    heartbeat(engine, "full-scan", NOW - timedelta(minutes=30), findings=12)
    heartbeat(engine, "scan", NOW - timedelta(minutes=5), new_breaches=1)
    outbox_row(engine, created_at=NOW - timedelta(minutes=20))
    outbox_row(engine, created_at=NOW - timedelta(days=2), failed_at=NOW - timedelta(days=1))
    st = status_at(engine)

    out = io.StringIO()
    print_status(st, LONDON, out)
    text = out.getvalue()
    assert text.startswith("frontdoor status at 2026-11-23 10:00 GMT: OK\n")
    assert "  full-scan  2026-11-23 09:30 GMT (30 min ago)  findings=12\n" in text
    assert "  scan       2026-11-23 09:55 GMT (5 min ago)  new_breaches=1\n" in text
    assert "  digest     never\n" in text
    assert "Outbox: 1 pending (oldest queued 2026-11-23 09:40 GMT (20 min ago)), 1 failed" in text

    doc = json.loads(json.dumps(status_document(st)))
    assert doc["healthy"] is True
    assert doc["stale"] is False
    assert doc["max_age_minutes"] == 45
    assert doc["last_scan_at"] == "2026-11-23T09:55:00Z"
    assert doc["jobs"]["full-scan"] == {
        "last_ok_at": "2026-11-23T09:30:00Z",
        "detail": {"findings": 12},
    }
    assert doc["jobs"]["digest"] == {"last_ok_at": None, "detail": None}
    assert doc["outbox"] == {
        "pending": 1,
        "oldest_pending_created_at": "2026-11-23T09:40:00Z",
        "failed_last_7_days": 1,
    }


def test_stale_status_text_says_why(engine: Engine) -> None:
    out = io.StringIO()
    print_status(status_at(engine), LONDON, out)
    first = out.getvalue().splitlines()[0]
    assert first.startswith("frontdoor status at 2026-11-23 10:00 GMT: STALE: no scheduled scan")


def test_mail_waiting_longer_than_the_max_age_is_unhealthy_even_with_fresh_scans(
    engine: Engine,
) -> None:
    heartbeat(engine, "scan", NOW - timedelta(minutes=1))
    outbox_row(engine, created_at=NOW - MAX_AGE + timedelta(minutes=1))  # young: fine
    st = status_at(engine)
    assert st.healthy
    outbox_row(engine, created_at=NOW - MAX_AGE - timedelta(minutes=1))
    st = status_at(engine)
    assert not st.stale
    assert st.mail_stuck
    assert not st.healthy
    assert st.problem is not None
    assert "2 message(s) waiting in the outbox" in st.problem
    out = io.StringIO()
    print_status(st, LONDON, out)
    assert out.getvalue().startswith("frontdoor status at 2026-11-23 10:00 GMT: MAIL STUCK: ")
