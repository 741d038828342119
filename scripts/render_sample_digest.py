"""Write a realistic sample digest to an HTML file (for the 375 px screenshot in docs/).

Usage: .venv/bin/python scripts/render_sample_digest.py [OUT.html]   (default /tmp/digest.html)

Then: chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=375,1800 \
      --screenshot=docs/digest-375px.png file:///tmp/digest.html
All data is made up.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from frontdoor.digest_items import DigestItem, PlannedMessage, RationaleState, TeamContacts
from frontdoor.digest_view import build_view
from frontdoor.render import Renderer
from frontdoor.rules import load_rules

REPO = Path(__file__).resolve().parents[1]
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
CASE_URLS = {
    "contact": "https://case.example.gov.uk/contacts/{record_id}",
    "referral": "https://case.example.gov.uk/referrals/{record_id}?child={child_id}",
    "strategy_discussion": "https://case.example.gov.uk/strategy/{record_id}",
}


def _team(team_id: str, name: str) -> TeamContacts:
    return TeamContacts(
        team_id, name, "Sam Patel", "sam.patel@example.gov.uk", "Jo Reed", "jo.reed@example.gov.uk"
    )


def _item(
    n: int,
    rule: str,
    kind: str,
    team: str,
    hours_ago: float,
    *,
    limit: float = 24,
    worker: str | None = None,
    missing: tuple[str, ...] = (),
    rationale: RationaleState | None = None,
) -> DigestItem:
    started = NOW - timedelta(hours=hours_ago)
    due = None if missing else started + timedelta(hours=limit)
    prefix = {"contact": "C", "referral": "R", "strategy_discussion": "SD"}[kind]
    return DigestItem(
        breach_id=n,
        rule_id=rule,
        record_kind=kind,
        record_id=f"{prefix}-{100200 + n}",
        child_id=f"CH-{40710 + 3 * n}",
        team_id=team,
        started_at=started,
        due_at=due,
        breached_at=due or started,
        first_detected_at=due or started,
        missing_agencies=missing,
        worker_id=worker,
        rationale=rationale,
    )


def sample_message() -> PlannedMessage:
    """A digest for a manager of two teams: a dozen items over three rules."""
    current = RationaleState(
        "awaiting_police_checks",
        "Sam Patel",
        NOW - timedelta(hours=3),
        NOW + timedelta(days=1),
        True,
    )
    expired = RationaleState(
        "family_unavailable", "Sam Patel", NOW - timedelta(days=4), NOW - timedelta(days=1), False
    )
    c, r, s = "contact-outcome-24h", "referral-decision-1wd", "strategy-partners"
    items = (
        _item(1, c, "contact", "DAT-A", 75, worker="SW-0142", rationale=expired),
        _item(2, c, "contact", "DAT-A", 51),
        _item(3, c, "contact", "DAT-B", 30.5, worker="SW-0077", rationale=current),
        _item(4, c, "contact", "DAT-A", 27, worker="SW-0142"),
        _item(5, c, "contact", "DAT-B", 25.2),
        _item(6, r, "referral", "DAT-A", 98, limit=24),
        _item(7, r, "referral", "DAT-B", 75.5, limit=72, rationale=current),
        _item(8, r, "referral", "DAT-A", 73.5, limit=72),
        _item(9, s, "strategy_discussion", "DAT-A", 80, missing=("police",)),
        _item(10, s, "strategy_discussion", "DAT-B", 50, missing=("health", "police")),
        _item(11, s, "strategy_discussion", "DAT-A", 26, missing=("local_authority",)),
        _item(12, c, "contact", "DAT-B", 24.4, worker="SW-0209"),
    )
    return PlannedMessage(
        recipient_email="sam.patel@example.gov.uk",
        recipient_name="Sam Patel",
        kind="digest",
        reason="new",
        slot=NOW,
        next_slot=NOW + timedelta(hours=3, minutes=30),
        teams=(_team("DAT-A", "Duty and Advice Team A"), _team("DAT-B", "Duty and Advice Team B")),
        items=tuple(sorted(items, key=lambda i: i.breached_at)),
        new_ids=frozenset({2, 5, 8, 11, 12}),
    )


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "digest.html"
    view = build_view(
        sample_message(),
        rules=load_rules(REPO / "rules"),
        tz=LONDON,
        case_urls=CASE_URLS,
        now=NOW,
        escalate_after="1 working day",
    )
    rendered = Renderer(REPO / "templates").render("digest", view)
    out.write_text(rendered.html, encoding="utf-8")
    out.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
    sys.stdout.write(f"{rendered.subject}\nwrote {out} and {out.with_suffix('.txt')}\n")


if __name__ == "__main__":
    main()
