"""E-mail rendering (the Jinja2 adapter) and building the ``EmailMessage`` to send.

:class:`Renderer` renders ``templates/email/<name>-subject.txt``, ``<name>-body.txt`` and
``<name>-body.html`` from a view built by :mod:`frontdoor.digest_view` (the templates only
loop and print). The HTML's one ``<style>`` block (in ``email/base.html``) is inlined into
``style=`` attributes, because Outlook and several webmail clients drop ``<style>``; no
``<style>`` element is left in the result. :func:`build_email` turns the rendered parts into a
``multipart/alternative`` message with stable Message-ID and threading headers. Nothing here
sends mail (:mod:`frontdoor.mailer` does) and nothing happens at import time.
"""

from __future__ import annotations

import email.policy
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

#: The messages there are templates for.
TEMPLATES = frozenset(
    {
        "digest",
        "backlog",
        "escalation",
        "delivery-failure",
        "feed-stale",
        "test",
        "weekly-report",
    }
)


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered message: a one-line subject, the plain-text part and the inlined HTML."""

    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    """``value`` with every run of whitespace (CR and LF included) collapsed to one space and
    the ends stripped: safe for a header, no injected header lines."""
    return " ".join(value.split())


class Renderer:
    """Renders the e-mail templates under ``templates_dir`` (the repository's ``templates/``).

    Templates get one variable, ``view``. A missing attribute raises
    :class:`jinja2.UndefinedError` (``StrictUndefined``) instead of printing a blank; ``.html``
    templates are autoescaped, ``.txt`` templates are not.
    """

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._inliner = css_inline.CSSInliner(
            keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False
        )

    def render(self, template: str, view: object) -> RenderedMessage:
        """Render message ``template`` (one of :data:`TEMPLATES`) from ``view``.

        Raises ``ValueError`` for an unknown template name, ``jinja2.TemplateNotFound`` when a
        file is missing and ``jinja2.UndefinedError`` when ``view`` lacks something a template
        prints.
        """
        if template not in TEMPLATES:
            raise ValueError(f"unknown e-mail template {template!r}; one of {sorted(TEMPLATES)}")
        base = f"email/{template}"
        subject = self.env.get_template(f"{base}-subject.txt").render(view=view)
        text = self.env.get_template(f"{base}-body.txt").render(view=view)
        html = self.env.get_template(f"{base}-body.html").render(view=view)
        return RenderedMessage(
            subject=one_line(subject),
            text=text.rstrip() + "\n",
            html=self._inliner.inline(html),
        )


def message_id_for(kind: str, recipient: str, slot: datetime, domain: str) -> str:
    """A Message-ID fixed by message kind, recipient and slot, so that re-sending the same
    outbox row repeats the same id: ``<frontdoor.{kind}.{yyyymmddThhmmZ}.{hash}@{domain}>``
    where ``hash`` is the first 12 hex digits of SHA-256 of ``recipient``. A slot that is not
    on a whole minute (ad-hoc messages stamped with "now") keeps its seconds and microseconds,
    so two such messages in one minute do not share an id."""
    utc = slot.astimezone(UTC)
    stamp = utc.strftime("%Y%m%dT%H%M")
    if utc.second or utc.microsecond:
        stamp += utc.strftime("%S") + (f".{utc.microsecond:06d}" if utc.microsecond else "")
    digest = hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:12]
    return f"<frontdoor.{kind}.{stamp}Z.{digest}@{domain}>"


def thread_key_for(kind: str, recipient: str, local_day: date) -> str:
    """A key for one conversation per recipient, message kind and local day (16 hex digits)."""
    seed = f"{kind}\n{recipient}\n{local_day.isoformat()}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]


def build_email(
    rendered: RenderedMessage,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    date: datetime,
    thread_key: str | None = None,
    domain: str,
) -> EmailMessage:
    """The message to send: ``multipart/alternative`` with the text part first and the HTML
    part second (both UTF-8, quoted-printable so no line exceeds SMTP's limit).

    ``message_id`` is used as given (``<...@domain>``); ``date`` must be aware. With a
    ``thread_key``, ``References`` and ``In-Reply-To`` name ``<thread.{thread_key}@{domain}>``
    so a client groups the messages that share it. ``Auto-Submitted`` and
    ``X-Auto-Response-Suppress`` keep out-of-office replies from answering. Raises
    ``ValueError`` for a naive ``date``.
    """
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("build_email needs an aware date")
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if thread_key is not None:
        thread = f"<thread.{thread_key}@{domain}>"
        msg["References"] = thread
        msg["In-Reply-To"] = thread
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg
