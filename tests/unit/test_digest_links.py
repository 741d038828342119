"""Digest links into the web app: every item links to its rationale form with a token bound
to the recipient and their teams; no links unless the web app is configured."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from frontdoor import digest_view as dv
from frontdoor.bootstrap import build_app
from frontdoor.errors import ConfigError
from frontdoor.notify import PREVIEW_TOKEN, web_links
from frontdoor.render import Renderer
from frontdoor.settings import load_settings
from frontdoor.tokens import verify
from tests.conftest import REPO
from tests.unit.test_digest_view import NOW, make_item, make_message, team, view_of

KEY = "s" * 40


def test_each_item_links_to_its_form_and_the_message_to_the_dashboard() -> None:
    web = dv.WebLinks("https://fd.example", "v1.tok.en")
    view = view_of(make_message([make_item(1), make_item(2, record_id="A/B 1")]), web=web)
    actions = sorted(str(r.action) for s in view.sections for r in s.rows)
    assert actions == [
        "https://fd.example/items/contact-outcome-24h/A%2FB%201/rationale?t=v1.tok.en",
        "https://fd.example/items/contact-outcome-24h/X-0001/rationale?t=v1.tok.en",
    ]
    assert view.dashboard == "https://fd.example/?t=v1.tok.en"
    rendered = Renderer(REPO / "templates").render("digest", view)
    for link in (*actions, view.dashboard):
        assert link in rendered.text
        assert link.replace("&", "&amp;") in rendered.html
    assert "Record a decision or rationale" in rendered.text


def test_without_the_web_app_there_are_no_links() -> None:
    view = view_of(make_message([make_item(1)]))
    assert view.dashboard is None
    assert [r.action for s in view.sections for r in s.rows] == [None]
    assert "Record a decision" not in Renderer(REPO / "templates").render("digest", view).text


@pytest.mark.parametrize(
    ("url", "key", "linked"),
    [(None, KEY, False), ("https://fd.example", None, False), ("https://fd.example", KEY, True)],
)
def test_links_need_both_the_web_url_and_the_secret_key(
    sqlite_engine: Engine, url: str | None, key: str | None, linked: bool
) -> None:
    settings = load_settings(rules_dir=REPO / "rules", web_url=url, secret_key=key, link_days=3)
    app = build_app(settings, engine=sqlite_engine)
    msg = make_message([make_item(1)], teams=(team("DAT-B"), team("DAT-A")))
    links = web_links(app, msg, now=NOW)
    assert (links is not None) == linked
    if links is None:
        return
    token = parse_qs(urlsplit(links.dashboard).query)["t"][0]
    grant = verify(token, KEY.encode(), now=NOW)
    assert grant.email == "pat@example.org"
    assert grant.teams == ("DAT-A", "DAT-B")
    assert grant.expires == NOW + timedelta(days=3)


def test_a_web_url_with_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="scheme and host only"):
        load_settings(rules_dir=REPO / "rules", web_url="https://fd.example/app")


def test_a_preview_has_a_placeholder_instead_of_a_working_token(sqlite_engine: Engine) -> None:
    settings = load_settings(rules_dir=REPO / "rules", web_url="https://fd.example", secret_key=KEY)
    app = build_app(settings, engine=sqlite_engine)
    links = web_links(app, make_message([make_item(1)]), now=NOW, preview=True)
    assert links is not None
    assert links.token == PREVIEW_TOKEN
