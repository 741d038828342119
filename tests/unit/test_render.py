"""Rendering the e-mail templates and building the message (golden files in tests/golden/).

Golden files are written only with FRONTDOOR_UPDATE_GOLDEN=1; without it a missing or
different golden file fails. Review the diff of a regenerated file before committing it.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from frontdoor import digest_view as dv
from frontdoor import system_views as sv
from frontdoor.clock import OfficeHours, england_calendar
from frontdoor.digest_items import RationaleState
from frontdoor.feed import FeedPolicy, judge
from frontdoor.render import (
    RenderedMessage,
    Renderer,
    build_email,
    message_id_for,
    thread_key_for,
)
from frontdoor.rules import load_rules
from tests.unit.test_digest_view import (
    LONDON,
    NOW,
    SUMMER,
    make_item,
    make_message,
    team,
    view_of,
)

REPO = Path(__file__).resolve().parents[2]
FEED_POLICY = FeedPolicy(timedelta(hours=4), OfficeHours(time(9), time(17)))
GOLDEN = REPO / "tests" / "golden"
TAG = re.compile(
    r"</?(?:html|head|body|p|a|td|tr|table|tbody|span|div|br|h1|h2|strong|style)\b[^>]*>"
)


@pytest.fixture(name="renderer", scope="module")
def _renderer() -> Renderer:
    return Renderer(REPO / "templates")


def digest_view() -> dv.MessageView:
    """Two teams, three rules, new and old items, a current and an expired rationale."""
    current = RationaleState(
        "awaiting_police_checks", "Pat Lee", NOW, NOW + timedelta(hours=20), True
    )
    expired = RationaleState("family_away", "Pat Lee", SUMMER, SUMMER + timedelta(days=1), False)
    items = [
        make_item(1, overdue_hours=75, worker_id="SW-0142", rationale=expired),
        make_item(2, overdue_hours=26, team_id="DAT-B"),
        make_item(3, overdue_hours=5.5, team_id="DAT-B", rationale=current),
        make_item(4, rule_id="referral-decision-1wd", overdue_hours=49),
        make_item(5, rule_id="strategy-partners", missing_agencies=("local_authority", "health")),
    ]
    teams = (team("DAT-A", "Duty and Advice Team A"), team("DAT-B", "Duty and Advice Team B"))
    return view_of(make_message(items, new={2, 5}, teams=teams))


def backlog_view() -> dv.MessageView:
    items = [make_item(n, overdue_hours=300 - 20 * n) for n in range(1, 13)]
    msg = make_message(items, new={i.breach_id for i in items}, kind="backlog", reason="backlog")
    return view_of(msg)


def escalation_view() -> dv.MessageView:
    items = [make_item(1, overdue_hours=40), make_item(2, overdue_hours=30, team_id="DAT-B")]
    msg = make_message(items, new={1}, kind="escalation", teams=(team("DAT-A"), team("DAT-B")))
    return view_of(msg)


def failure_view() -> sv.FailureReportView:
    failures = [
        sv.FailedDelivery("tm.a@example.org", "digest", SUMMER, "<m1@ex.org>", "550 no user", 1),
        sv.FailedDelivery("sm@example.org", "escalation", NOW, "<m2@ex.org>", "451 later", 5),
    ]
    return sv.failure_report_view(failures, tz=LONDON, now=NOW)


def feed_stale_view() -> sv.FeedStaleView:
    last = datetime(2026, 11, 20, 15, 40, tzinfo=UTC)  # Friday afternoon: stale Monday 11:40
    verdict = judge(last, now=NOW, cal=england_calendar(), policy=FEED_POLICY)
    assert verdict.stale
    return sv.feed_stale_view(verdict, FEED_POLICY, tz=LONDON, synced=True)


VIEWS: dict[str, Callable[[], object]] = {
    "digest": digest_view,
    "backlog": backlog_view,
    "escalation": escalation_view,
    "delivery-failure": failure_view,
    "test": lambda: sv.test_view(tz=LONDON, now=NOW, host="smtp.example.org"),
    "feed-stale": lambda: feed_stale_view(),
}


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("FRONTDOOR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run with FRONTDOOR_UPDATE_GOLDEN=1")
    assert actual == path.read_bytes().decode("utf-8"), f"{name} differs from {path}"


class _Html(HTMLParser):
    """Collects tags, link targets and the text of count cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.numbers: list[str] = []
        self._in_num = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        self._in_num = tag == "td" and "num" in (values.get("class") or "").split()

    def handle_data(self, data: str) -> None:
        if self._in_num and data.strip():
            self.numbers.append(data.strip())
            self._in_num = False


def parse(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_each_message_matches_its_golden_files(renderer: Renderer, name: str) -> None:
    rendered = renderer.render(name, VIEWS[name]())
    check_golden(f"{name}.subject.txt", rendered.subject + "\n")
    check_golden(f"{name}.body.txt", rendered.text)
    check_golden(f"{name}.body.html", rendered.html)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_html_is_inlined_and_self_contained(renderer: Renderer, name: str) -> None:
    """The <style> block is gone (inlined into style= attributes: Outlook drops <style>), and
    nothing is fetched or run: no scripts, images, stylesheets links or external URLs."""
    html = renderer.render(name, VIEWS[name]()).html
    tags = parse(html).tags
    assert "style" not in tags
    assert "<style" not in html
    assert not {"script", "img", "link", "iframe"} & set(tags)
    assert 'style="' in html
    assert re.search(r'<td class="main"[^>]*style="[^"]*padding: 16px', html)
    assert "max-width: 600px" in html
    sizes = [int(px) for px in re.findall(r"font-size: (\d+)px", html)]
    assert sizes
    assert min(sizes) >= 14


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_text_part_is_plain_text(renderer: Renderer, name: str) -> None:
    text = renderer.render(name, VIEWS[name]()).text
    assert not TAG.search(text), TAG.search(text)
    assert "&amp;" not in text
    assert "&lt;" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize("name", ["digest", "backlog", "escalation"])
def test_text_part_carries_every_record_id_count_and_link_of_the_html(
    renderer: Renderer, name: str
) -> None:
    view = VIEWS[name]()
    assert isinstance(view, dv.MessageView)
    rendered = renderer.render(name, view)
    html = parse(rendered.html)
    record_ids = [r.record_id for s in view.sections for r in s.rows]
    assert record_ids
    counts = [str(c.count) for c in (*view.summary_counts, *view.rule_counts, *view.team_counts)]
    assert html.numbers == counts
    assert len(html.hrefs) == sum(r.link is not None for s in view.sections for r in s.rows) > 0
    for record_id in record_ids:
        assert record_id in rendered.html
        assert record_id in rendered.text
    for link in html.hrefs:
        assert link in rendered.text
    for count in view.summary_counts + view.rule_counts + view.team_counts:
        assert f"{count.label}: {count.count}" in rendered.text
    for section in view.sections:
        assert section.summary.split(":")[0] in rendered.text
        if section.more_text:
            assert section.more_text in rendered.html
            assert section.more_text in rendered.text
    assert view.next_line in rendered.text
    assert view.next_line in rendered.html


def test_digest_html_shows_new_markers_as_text_and_links_to_the_case_system(
    renderer: Renderer,
) -> None:
    view = digest_view()
    html = renderer.render("digest", view).html
    assert html.count(">NEW</span>") == view.new == 2
    assert html.count("in the case system</a>") == 4  # contacts and the discussion, no referral
    assert 'href="https://case.example/c/X-0001?child=CH-1&amp;team=DAT-A"' in html
    assert "Missing: local authority, health" in html
    assert "Overdue by 3d 3h" in html


def test_missing_view_attribute_raises_instead_of_printing_a_blank(renderer: Renderer) -> None:
    @dataclass(frozen=True)
    class NoHost:
        subject: str = "s"
        preheader: str = "p"
        heading: str = "h"
        intro: tuple[str, ...] = ()
        sent_at: str = "now"
        timezone: str = "Europe/London"

    with pytest.raises(jinja2.UndefinedError, match="host"):
        renderer.render("test", NoHost())


def test_unknown_template_name_is_refused(renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="unknown e-mail template"):
        renderer.render("weekly", sv.test_view(tz=LONDON, now=NOW, host="h"))


def test_html_is_escaped_and_text_is_verbatim(renderer: Renderer) -> None:
    odd = team("DAT-A", "Duty <b>& Advice")
    view = view_of(make_message([make_item(1, child_id="CH<1>")], teams=(odd,)))
    rendered = renderer.render("digest", view)
    assert "DAT-A Duty &lt;b&gt;&amp; Advice" in rendered.html
    assert "<b>&" not in rendered.html
    assert "CH&lt;1&gt;" in rendered.html
    assert "DAT-A Duty <b>& Advice" in rendered.text
    assert "child CH<1>" in rendered.text


def test_subject_is_one_line_even_if_a_team_id_holds_a_newline(renderer: Renderer) -> None:
    sneaky = "DAT-A\r\nBcc: victim@example.org"
    view = view_of(make_message([make_item(1, team_id=sneaky)], teams=(team(sneaky),)))
    rendered = renderer.render("digest", view)
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject
    assert "(DAT-A Bcc: victim@example.org)" in rendered.subject
    message = build(rendered)
    headers = message.as_bytes().split(b"\r\n\r\n")[0]
    assert b"\r\nBcc:" not in headers
    assert message["Bcc"] is None


def build(rendered: RenderedMessage, *, thread: str | None = "0123456789abcdef") -> EmailMessage:
    return build_email(
        rendered,
        sender="frontdoor@council.example",
        recipient="pat@example.org",
        message_id="<frontdoor.digest.20261123T1230Z.abc@council.example>",
        date=NOW,
        thread_key=thread,
        domain="council.example",
    )


def test_build_email_makes_a_multipart_alternative_with_the_headers(renderer: Renderer) -> None:
    rendered = renderer.render("digest", digest_view())
    message = build(rendered)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert message["From"] == "frontdoor@council.example"
    assert message["To"] == "pat@example.org"
    assert message["Subject"] == rendered.subject
    assert message["Message-ID"] == "<frontdoor.digest.20261123T1230Z.abc@council.example>"
    assert parsedate_to_datetime(str(message["Date"])) == NOW
    assert message["References"] == "<thread.0123456789abcdef@council.example>"
    assert message["In-Reply-To"] == "<thread.0123456789abcdef@council.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_built_message_survives_smtp_serialisation(renderer: Renderer) -> None:
    """CRLF line ends, no line over SMTP's 998 octets, 7-bit clean; parsing it back gives the
    same text and HTML."""
    rendered = renderer.render("digest", digest_view())
    raw = build(rendered).as_bytes()
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    raw.decode("ascii")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text, html = (p.get_content() for p in parsed.iter_parts())
    assert text.replace("\r\n", "\n") == rendered.text
    assert html.replace("\r\n", "\n").rstrip("\n") == rendered.html.rstrip("\n")


def test_without_thread_key_there_are_no_threading_headers(renderer: Renderer) -> None:
    message = build(renderer.render("test", VIEWS["test"]()), thread=None)
    assert message["References"] is None
    assert message["In-Reply-To"] is None


def test_build_email_refuses_a_naive_date(renderer: Renderer) -> None:
    rendered = renderer.render("test", VIEWS["test"]())
    with pytest.raises(ValueError, match="aware"):
        build_email(
            rendered,
            sender="a@b.c",
            recipient="d@e.f",
            message_id="<x@b.c>",
            date=datetime(2026, 1, 1),
            domain="b.c",
        )


def test_message_id_is_stable_per_kind_recipient_and_slot() -> None:
    slot = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    mid = message_id_for("digest", "pat@example.org", slot, "council.example")
    assert re.fullmatch(r"<frontdoor\.digest\.20261123T1230Z\.[0-9a-f]{12}@council\.example>", mid)
    assert mid == message_id_for(
        "digest", "pat@example.org", slot.astimezone(LONDON), "council.example"
    )
    others = {
        message_id_for("escalation", "pat@example.org", slot, "council.example"),
        message_id_for("digest", "sam@example.org", slot, "council.example"),
        message_id_for("digest", "pat@example.org", slot + timedelta(hours=1), "council.example"),
    }
    assert mid not in others
    assert len(others) == 3
    summer = message_id_for("digest", "pat@example.org", SUMMER.astimezone(LONDON), "x.org")
    assert ".20260701T1130Z." in summer  # UTC, whatever the zone it was given in


def test_ad_hoc_messages_in_the_same_minute_get_different_ids() -> None:
    first = datetime(2026, 11, 23, 12, 30, 5, tzinfo=UTC)
    later = first.replace(second=41)
    ids = {message_id_for("test", "a@b.c", t, "b.c") for t in (first, later)}
    assert len(ids) == 2
    assert ".20261123T123005Z." in message_id_for("test", "a@b.c", first, "b.c")


def test_thread_key_is_one_per_recipient_kind_and_local_day() -> None:
    key = thread_key_for("digest", "pat@example.org", date(2026, 11, 23))
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert key == thread_key_for("digest", "pat@example.org", date(2026, 11, 23))
    assert key != thread_key_for("digest", "pat@example.org", date(2026, 11, 24))
    assert key != thread_key_for("escalation", "pat@example.org", date(2026, 11, 23))
    assert key != thread_key_for("digest", "sam@example.org", date(2026, 11, 23))


def test_shipped_templates_render_with_the_real_rules(renderer: Renderer) -> None:
    """Every shipped rule gets a readable section title when it has an item."""
    rules = load_rules(REPO / "rules")
    items = [
        replace(make_item(n), rule_id=r.id, record_kind=r.record) for n, r in enumerate(rules, 1)
    ]
    view = view_of(make_message(items), rules=rules)
    text = renderer.render("digest", view).text
    for section in view.sections:
        assert not section.title.islower()
        assert section.title in text
