"""Links in messages (pure): to the council's case system, from a URL template per record
kind, and to frontdoor's web app, with the recipient's signed access token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


def format_case_url(
    template: str | None, record_id: str, child_id: str, team_id: str
) -> str | None:
    """A case-system URL from a ``str.format`` template (placeholders ``record_id``,
    ``child_id``, ``team_id``, each value percent-quoted); None without a template."""
    if not template:
        return None
    return template.format(
        record_id=quote(record_id, safe=""),
        child_id=quote(child_id, safe=""),
        team_id=quote(team_id, safe=""),
    )


def item_path(rule_id: str, record_id: str) -> str:
    """The web app's site-relative path of an item's page (each id percent-quoted; the app
    routes record ids holding "/")."""
    return f"/items/{quote(rule_id, safe='')}/{quote(record_id, safe='')}"


@dataclass(frozen=True)
class WebLinks:
    """Where the web app is and the recipient's signed access token (see
    :mod:`frontdoor.tokens`): every item links to its rationale form."""

    base_url: str
    token: str

    def item(self, rule_id: str, record_id: str) -> str:
        return (
            f"{self.base_url}{item_path(rule_id, record_id)}"
            f"/rationale?t={quote(self.token, safe='')}"
        )

    @property
    def dashboard(self) -> str:
        return f"{self.base_url}/?t={quote(self.token, safe='')}"
