"""The feed check on a real database (both engines): the newest contact, and the owner's one
"data feed stale" alert per episode in the outbox."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from frontdoor import outbox
from frontdoor.bootstrap import App, build_app
from frontdoor.feed import FRESH_MARK, LOOKBACK, judge, latest_contact_at
from frontdoor.feed_alert import check_feed
from frontdoor.heartbeat import beat, read_heartbeats
from frontdoor.models import Contact, Outbox, table_of
from frontdoor.settings import load_settings
from frontdoor.status import gather_status, print_status, status_document
from tests.conftest import REPO
from tests.factories import load, load_team

OUT = table_of(Outbox).c
CT = table_of(Contact).c
OWNER = "it.owner@example.org"
MON_1500 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # GMT: local = UTC


def contact(cid: str, received: str, outcome_at: str | None = None) -> dict[str, object]:
    return {
        "contact_id": cid,
        "child_id": f"CH-{cid}",
        "received_at": received,
        "team_id": "DAT-A",
        "outcome": "NFA" if outcome_at else None,
        "outcome_at": outcome_at,
    }


def app_for(engine: Engine, **settings: object) -> App:
    return build_app(
        load_settings(
            rules_dir=REPO / "rules",
            system_owner_email=OWNER,
            smtp_sender="frontdoor@example.org",
            **settings,
        ),
        engine=engine,
    )


def alerts(engine: Engine) -> list[tuple[str, str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(OUT.recipient, OUT.kind, OUT.slot)
            .where(OUT.kind == "feed-stale")
            .order_by(OUT.slot)
        ).all()
    return [(r.recipient, r.kind, r.slot) for r in rows]


def test_latest_contact_open_or_completed_never_after_now(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    with engine.connect() as conn:
        assert latest_contact_at(conn, now=MON_1500) is None  # no contacts
    rows = [
        contact("C1", "2026-11-23T09:10:00", "2026-11-23T09:40:00"),  # completed
        contact("C2", "2026-11-23T08:00:00"),  # open
        contact("C3", "2026-11-23T16:00:00"),  # after now: ignored
    ]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    with engine.connect() as conn:
        assert latest_contact_at(conn, now=MON_1500) == datetime(2026, 11, 23, 9, 10, tzinfo=UTC)
        assert latest_contact_at(conn, now=MON_1500 + timedelta(hours=2)) == datetime(
            2026, 11, 23, 16, 0, tzinfo=UTC
        )
        # Before every contact: none, whichever index is looked at.
        assert latest_contact_at(conn, now=datetime(2026, 11, 1, tzinfo=UTC)) is None


def test_latest_contact_older_than_the_look_back_is_still_found(
    engine: Engine, tmp_path: Path
) -> None:
    load_team(engine, tmp_path)
    rows = [
        contact("OLD-OPEN", "2026-08-03T10:00:00"),
        contact("OLD-DONE", "2026-08-04T10:00:00", "2026-11-20T10:00:00"),  # late outcome
        contact("OLDER", "2026-07-01T10:00:00", "2026-07-01T11:00:00"),
    ]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    assert datetime(2026, 8, 4, 10, tzinfo=UTC) < MON_1500 - LOOKBACK
    with engine.connect() as conn:
        assert latest_contact_at(conn, now=MON_1500) == datetime(2026, 8, 4, 9, 0, tzinfo=UTC)


def _message(engine: Engine) -> EmailMessage:
    with engine.connect() as conn:
        raw = conn.execute(select(OUT.message).where(OUT.kind == "feed-stale")).scalar_one()
    return outbox.parse(raw)


def test_one_alert_per_stale_episode(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    rows = [contact("C1", "2026-11-23T09:10:00", "2026-11-23T09:40:00")]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    app = app_for(engine, feed_stale_after="4 working hours")
    fresh = check_feed(app, now=datetime(2026, 11, 23, 13, 9, tzinfo=UTC))
    assert not fresh.stale
    assert alerts(engine) == []
    # 13:10: four working hours since 09:10. Every later check in the episode adds nothing.
    first_stale = datetime(2026, 11, 23, 13, 10, tzinfo=UTC)
    for at in (first_stale, MON_1500, datetime(2026, 11, 24, 10, tzinfo=UTC)):
        verdict = check_feed(app, now=at)
        assert verdict.stale
    assert alerts(engine) == [(OWNER, "feed-stale", first_stale)]
    message = _message(engine)
    assert message["To"] == OWNER
    # (Python's e-mail parser keeps the space left by folding a long header after its colon.)
    assert message["Subject"].strip() == (
        "frontdoor: data feed stale, no new contacts since Mon 23 Nov 2026 09:10 GMT"
    )
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "no new contact for 4 working hours (09:00-17:00 on working days)" in " ".join(
        text.split()
    )
    assert "Stale since: Mon 23 Nov 2026 13:10 GMT" in text
    assert "CH-C1" not in message.as_string()  # no child or record ids: times only
    # A new contact ends the episode; when the feed stops again, a second alert.
    more = [contact("C2", "2026-11-24T11:00:00")]
    assert load(engine, tmp_path, "contacts", more).rejected == 0
    assert not check_feed(app, now=datetime(2026, 11, 24, 12, tzinfo=UTC)).stale
    assert len(alerts(engine)) == 1
    assert check_feed(app, now=datetime(2026, 11, 24, 15, tzinfo=UTC)).stale
    assert [a[2] for a in alerts(engine)] == [first_stale, datetime(2026, 11, 24, 15, tzinfo=UTC)]


def test_the_check_off_reads_nothing_and_never_alerts(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    rows = [contact("C1", "2026-11-02T09:10:00")]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    verdict = check_feed(app_for(engine), now=MON_1500)
    assert not verdict.stale
    assert verdict.last_contact_at is None  # not even read
    assert alerts(engine) == []


def test_an_empty_database_is_not_stale(engine: Engine) -> None:
    verdict = check_feed(app_for(engine, feed_stale_after="1 working hour"), now=MON_1500)
    assert not verdict.stale
    assert alerts(engine) == []


def test_the_stale_check_needs_an_owner() -> None:
    with pytest.raises(Exception, match="FRONTDOOR_SYSTEM_OWNER_EMAIL"):
        load_settings(feed_stale_after="4 working hours")


def test_status_shows_the_feed_without_calling_it_unhealthy(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    rows = [contact("C1", "2026-11-23T09:10:00", "2026-11-23T09:40:00")]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    app = app_for(engine, feed_stale_after="4 working hours")
    policy = app.settings.feed_policy
    assert policy is not None
    out = io.StringIO()
    with engine.begin() as conn:
        beat(conn, "scan", now=MON_1500 - timedelta(minutes=5), detail={})
        feed = judge(
            latest_contact_at(conn, now=MON_1500), now=MON_1500, cal=app.calendar, policy=policy
        )
        state = gather_status(conn, now=MON_1500, max_age=timedelta(minutes=45), feed=feed)
    print_status(state, app.settings.zone, out)
    assert state.healthy
    assert (
        "Data feed: STALE since 2026-11-23 13:10 GMT, newest contact 2026-11-23 09:10 GMT "
        "(5 h ago); digests, escalations and the weekly report are held back"
    ) in out.getvalue()
    assert FRESH_MARK not in out.getvalue()
    assert FRESH_MARK not in status_document(state)["jobs"]
    assert status_document(state)["feed"] == {
        "stale": True,
        "last_contact_at": "2026-11-23T09:10:00Z",
        "stale_since": "2026-11-23T13:10:00Z",
    }
    off = io.StringIO()
    with engine.connect() as conn:
        print_status(gather_status(conn, now=MON_1500, max_age=timedelta(minutes=45)), UTC, off)
    assert "Data feed check: off (FRONTDOOR_FEED_STALE_AFTER)" in off.getvalue()


def test_a_partial_catch_up_that_leaves_the_feed_stale_adds_no_second_alert(
    engine: Engine, tmp_path: Path
) -> None:
    load_team(engine, tmp_path)
    assert load(engine, tmp_path, "contacts", [contact("C1", "2026-11-19T10:00:00")]).rejected == 0
    app = app_for(engine, feed_stale_after="4 working hours")
    assert check_feed(app, now=MON_1500).stale
    # Someone imports Friday's file late: the newest contact moves, the feed is still stale.
    assert load(engine, tmp_path, "contacts", [contact("C2", "2026-11-20T16:00:00")]).rejected == 0
    moved = check_feed(app, now=MON_1500 + timedelta(minutes=15))
    assert moved.stale
    assert moved.last_contact_at == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert len(alerts(engine)) == 1
    # The live feed resumes (fresh), then stops again: that is a new stoppage.
    assert load(engine, tmp_path, "contacts", [contact("C3", "2026-11-24T09:30:00")]).rejected == 0
    assert not check_feed(app, now=datetime(2026, 11, 24, 10, tzinfo=UTC)).stale
    assert check_feed(app, now=datetime(2026, 11, 24, 14, tzinfo=UTC)).stale
    assert len(alerts(engine)) == 2


def test_untimed_contacts_do_not_count_as_the_feed_moving(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    rows = [
        contact("C1", "2026-11-19T10:00:00"),
        contact("AA-X-C20261123-1", "2026-11-23T00:00:00", "2026-11-23T00:00:00"),
    ]
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    with engine.begin() as conn:  # as the Annex A import marks its contacts
        conn.execute(
            table_of(Contact).update().where(CT.contact_id.like("AA-%")).values(untimed=True)
        )
    with engine.connect() as conn:
        assert latest_contact_at(conn, now=MON_1500) == datetime(2026, 11, 19, 10, tzinfo=UTC)
        # ... also when only the whole-table fallback can find the newest timed contact
        later = datetime(2027, 2, 1, tzinfo=UTC)
        assert latest_contact_at(conn, now=later) == datetime(2026, 11, 19, 10, tzinfo=UTC)


def test_checks_without_alert_write_nothing(engine: Engine, tmp_path: Path) -> None:
    load_team(engine, tmp_path)
    assert load(engine, tmp_path, "contacts", [contact("C1", "2026-11-19T10:00:00")]).rejected == 0
    app = app_for(engine, feed_stale_after="4 working hours")
    assert check_feed(app, now=MON_1500, alert=False).stale
    assert not check_feed(app, now=datetime(2026, 11, 19, 11, tzinfo=UTC), alert=False).stale
    assert alerts(engine) == []
    with engine.connect() as conn:
        assert read_heartbeats(conn) == {}
