"""A :class:`~frontdoor.mailer.Mailer` that writes messages to a folder instead of sending.

Used by ``frontdoor digest --outbox DIR`` and the demo: a council can see exactly what would
be sent (``.eml`` for a mail client, ``.html`` for a browser) before it configures SMTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from frontdoor.mailer import DeliveryResult, OnMessage, message_id_of, recipients_of


class FileMailer:
    """:class:`Mailer` that writes each message into ``folder`` instead of sending it:
    ``<slot>-<kind>-<recipient>.eml`` (the whole message) and ``.html`` (its HTML part, to open in a
    browser). Every recipient counts as delivered, with the file path as the reply."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def send_batch(
        self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
    ) -> list[DeliveryResult]:
        """Write ``messages``; see the class docstring."""
        self.folder.mkdir(parents=True, exist_ok=True)
        results: list[DeliveryResult] = []
        for message in messages:
            mid = message_id_of(message)
            stem = _file_stem(mid, recipients_of(message))
            eml = self.folder / f"{stem}.eml"
            eml.write_bytes(message.as_bytes())
            self.written.append(eml)
            html = message.get_body(preferencelist=("html",))
            if html is not None:
                page = self.folder / f"{stem}.html"
                page.write_text(str(html.get_content()), encoding="utf-8")
                self.written.append(page)
            mine = [
                DeliveryResult(mid, r, True, False, f"written to {eml}")
                for r in recipients_of(message)
            ]
            results.extend(mine)
            if on_message is not None:
                on_message(mine)
        return results


def _file_stem(message_id: str, recipients: Sequence[str]) -> str:
    """A readable, unique file name, safe on any disk: ``20261123T0830Z-digest-tm.a@x.org``
    for frontdoor's own Message-IDs (``frontdoor.<kind>.<slot>.<hash>``), else the
    Message-ID's local part."""
    local = message_id.strip("<>").split("@", 1)[0]
    parts = local.split(".")
    if len(parts) == 4 and parts[0] == "frontdoor" and recipients:
        local = f"{parts[2]}-{parts[1]}-{recipients[0]}"
    return re.sub(r"[^A-Za-z0-9@._-]+", "_", local)[:150] or "message"
