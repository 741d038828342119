"""The web app (Starlette): dashboard, item timeline, rationale form, weekly report archive.

Server-rendered pages from ``templates/web/`` (Jinja2, autoescaped); no JavaScript. Every page
but ``/health`` and ``/static`` needs an identity (:mod:`frontdoor.web_auth`); a person sees
the items of the teams in their grant and nothing else, and every POST carries a CSRF token.

Every response passes :class:`~frontdoor.web_guard.Guard` (security headers, no caching, one
log line without the query string). Nothing logs a form field: a rationale's note is free
text about a child.

:func:`create_app` builds it; nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from frontdoor import digest_data, rationale, web_auth, web_data, web_views
from frontdoor.bootstrap import App, system_now
from frontdoor.digest_view import format_when
from frontdoor.errors import ConfigError, UsageError
from frontdoor.feed_alert import check_feed
from frontdoor.tokens import Grant
from frontdoor.web_guard import REPORT_CSP, Guard

log = structlog.get_logger()

FLASH_COOKIE = "frontdoor_flash"
MAX_FORM_BYTES = 64 * 1024  # a 2,000-character note is at most ~24 KiB URL-encoded


@dataclass(frozen=True)
class Ctx:
    """What every handler needs: the app, the clock, the auth settings and the templates."""

    app: App
    clock: Callable[[], datetime]
    auth: web_auth.AuthConfig
    env: Environment

    def page(
        self, name: str, *, status: int = 200, who: Grant | None = None, **context: Any
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(who=who, **context)
        return HTMLResponse(html, status_code=status)

    def error(
        self, status: int, title: str, message: str, *, who: Grant | None = None
    ) -> HTMLResponse:
        return self.page("error.html", status=status, who=who, title=title, message=message)

    def teams_of(self, email: str) -> tuple[str, ...]:
        with self.app.engine.connect() as conn:
            return web_data.teams_managed_by(conn, email)


Form = Mapping[str, str]
Handler = Callable[[Ctx, Request, Grant, Form | None, datetime], Response]


def guarded(ctx: Ctx, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that identifies the person (turning a link into a session first), checks
    the CSRF token of a POST, then runs ``handler`` in a worker thread (the database is
    synchronous) at one instant ``now``."""

    async def endpoint(request: Request) -> Response:
        form: dict[str, str] | None = None
        if request.method == "POST":
            if _content_length(request) > MAX_FORM_BYTES:
                return ctx.error(413, "Too much text", "Shorten the note and try again.")
            data = await request.form(max_files=0, max_fields=20, max_part_size=MAX_FORM_BYTES)
            form = {k: v for k, v in data.items() if isinstance(v, str)}
        return await run_in_threadpool(_run, ctx, handler, request, form)

    return endpoint


def _content_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length") or 0)
    except ValueError:
        return 0  # unknown: the form parser's own limits still apply


def _run(ctx: Ctx, handler: Handler, request: Request, form: Form | None) -> Response:
    now = ctx.clock()
    grant: Grant | None = None
    try:
        if request.method in ("GET", "HEAD") and web_auth.LINK_PARAM in request.query_params:
            return web_auth.login_with_link(request, ctx.auth, now=now)
        grant = web_auth.identify(request, ctx.auth, now=now, teams_of=ctx.teams_of)
        # Only the granted teams the person still manages: a link or session outlives a
        # change of manager in the teams file, the access must not.
        grant = web_auth.still_managed(grant, ctx.teams_of(grant.email))
        if form is not None:
            web_auth.check_csrf(form.get("csrf"), grant, ctx.auth.key, now=now)
        return handler(ctx, request, grant, form, now)
    except web_auth.Refused as exc:
        return ctx.error(403, "You cannot see this page", str(exc), who=grant)


# -- pages ------------------------------------------------------------------------------------


def dashboard(
    ctx: Ctx, request: Request, who: Grant, _form: Form | None, now: datetime
) -> Response:
    team = request.query_params.get("team") or None
    if team is not None and not who.allows(team):
        raise web_auth.Refused("That team is not one of the teams your link gives access to.")
    settings = ctx.app.settings
    with ctx.app.engine.connect() as conn:
        items = digest_data.open_items(conn, ctx.app.rules, ctx.app.calendar, now=now)
        teams = digest_data.teams(conn)
    feed = check_feed(ctx.app, now=now, alert=False)  # the worker alerts; a page only warns
    view = web_views.build_dashboard(
        items,
        ctx.app.rules,
        teams,
        visible=who.teams,
        selected=team,
        reasons=settings.reasons,
        tz=settings.zone,
        now=now,
        feed_stale_since=feed.stale_since if feed.stale else None,
    )
    return ctx.page("dashboard.html", who=who, view=view)


def _item_view(ctx: Ctx, request: Request, who: Grant, now: datetime) -> web_views.ItemView:
    """The item named by the path, if ``who`` may see it: :class:`ItemMissing` when the
    ledger never recorded it, :class:`~frontdoor.web_auth.Refused` for another team's."""
    rule_id = str(request.path_params["rule_id"])
    record_id = str(request.path_params["record_id"])
    with ctx.app.engine.connect() as conn:
        row = web_data.ledger_row(conn, rule_id, record_id)
        if row is None:
            raise ItemMissing
        # The team it breached in or the team its record belongs to now, as rationale.add
        # checks it. Another team's item is refused (403, as the issue asks), which does
        # tell a signed-in manager that the record id has a breach elsewhere.
        if not rationale.may_act(row.team_id, rationale.record_teams(conn, record_id), who.teams):
            raise web_auth.Refused("This item belongs to a team your link does not cover.")
        sent = web_data.notifications(conn, row.id)
        entries = rationale.entries(conn, item=(rule_id, record_id))
        team = next((t for t in digest_data.teams(conn) if t.team_id == row.team_id), None)
    rule = next((r for r in ctx.app.rules if r.id == rule_id), None)
    settings = ctx.app.settings
    return web_views.build_item(
        row, rule, team, sent, entries, reasons=settings.reasons, tz=settings.zone, now=now
    )


class ItemMissing(Exception):
    """No breach of that rule is recorded for that record (404)."""


def _not_found(ctx: Ctx, who: Grant) -> Response:
    return ctx.error(
        404, "Item not found", "frontdoor has recorded no breach for this item.", who=who
    )


def item(ctx: Ctx, request: Request, who: Grant, _form: Form | None, now: datetime) -> Response:
    try:
        view = _item_view(ctx, request, who, now)
    except ItemMissing:
        return _not_found(ctx, who)
    saved = request.cookies.get(FLASH_COOKIE) == "saved"
    page = ctx.page("item.html", who=who, view=view, saved=saved)
    if saved:  # shown once: a reload or a later visit does not repeat it
        page.delete_cookie(FLASH_COOKIE, path=view.href)
    return page


def rationale_form(
    ctx: Ctx, request: Request, who: Grant, form: Form | None, now: datetime
) -> Response:
    """GET: the empty form. POST: record the rationale (303 to the item page) or show the
    form again with the problems (400); nothing is written unless every check passes."""
    try:
        view = _item_view(ctx, request, who, now)
    except ItemMissing:
        return _not_found(ctx, who)
    settings = ctx.app.settings
    tz = settings.zone
    errors: tuple[web_views.FieldError, ...] = ()
    if form is not None:
        submission, errors = web_views.validate(form, reasons=settings.reasons, tz=tz, now=now)
        if submission is not None:
            try:
                with ctx.app.engine.begin() as conn:
                    rationale.add(
                        conn,
                        record_id=view.record_id,
                        rule_id=view.rule_id,
                        recorded_by=who.email,
                        reason=submission.reason,
                        note=submission.note,
                        review_by=submission.review_by,
                        reasons=settings.reasons,
                        cal=ctx.app.calendar,
                        now=now,
                        teams=who.teams,
                    )
            except UsageError as exc:  # its message names ids, never the note
                errors = (web_views.FieldError("", str(exc)),)
            else:
                done = RedirectResponse(view.href, status_code=303)
                # The confirmation travels in a one-minute cookie for the item page only, so
                # the item's address stays clean (bookmarks, copies) and a reload is quiet.
                done.set_cookie(
                    FLASH_COOKIE,
                    "saved",
                    max_age=60,
                    path=view.href,
                    secure=web_auth.is_https(request, ctx.auth),
                    httponly=True,
                    samesite="lax",
                )
                return done
    default_review = rationale.default_review_by(ctx.app.calendar, now)
    form_view = web_views.FormView(
        action=view.form_href,
        item=view,
        reasons=web_views.reason_options(
            settings.reasons, form.get("reason") if form is not None else None
        ),
        note=form.get("note", "") if form is not None else "",
        note_max=rationale.NOTE_MAX,
        review_by=(
            form.get("review_by", "")
            if form is not None
            else web_views.local_input(default_review, tz)
        ),
        review_hint=f"Times are {tz}. The default is the end of the next working day.",
        csrf=web_auth.csrf_token(who, ctx.auth.key),
        errors=errors,
    )
    status = 400 if errors else 200
    return ctx.page("rationale_form.html", status=status, who=who, view=form_view)


def reports(
    ctx: Ctx, _request: Request, who: Grant, _form: Form | None, _now: datetime
) -> Response:
    with ctx.app.engine.connect() as conn:
        entries = web_data.reports_for(conn, who.email)
    tz = ctx.app.settings.zone
    rows = [
        (e, format_when(e.sent_at, tz) if e.sent_at else "Queued, not sent yet") for e in entries
    ]
    return ctx.page("reports.html", who=who, rows=rows)


def report(ctx: Ctx, request: Request, who: Grant, _form: Form | None, _now: datetime) -> Response:
    with ctx.app.engine.connect() as conn:
        html = web_data.report_html(conn, int(request.path_params["report_id"]), who.email)
    if html is None:  # unknown and another person's look the same
        return ctx.error(404, "Report not found", "There is no such report of yours.", who=who)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


def create_app(app: App, *, clock: Callable[[], datetime] = system_now) -> Starlette:
    """The ASGI app over ``app``'s database, rules and settings; ``clock`` gives "now".

    Raises :class:`~frontdoor.errors.ConfigError` when ``FRONTDOOR_SECRET_KEY`` is not set:
    links, sessions and forms cannot be signed without it.
    """
    settings = app.settings
    if settings.secret_key is None:
        raise ConfigError(
            "FRONTDOOR_SECRET_KEY is not set: the web app signs its links, sessions and forms "
            "with it (32+ characters, e.g. `openssl rand -hex 32`; or FRONTDOOR_SECRET_KEY_FILE)"
        )
    web_dir = settings.templates_dir / "web"
    env = Environment(
        loader=FileSystemLoader(web_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    auth = web_auth.AuthConfig(
        key=settings.secret_key.get_secret_value().encode("utf-8"),
        session_hours=settings.session_hours,
        identity_header=settings.trusted_identity_header,
        trusted_proxies=frozenset(settings.proxies),
        secure=bool(settings.web_url and settings.web_url.startswith("https://")),
    )
    ctx = Ctx(app=app, clock=clock, auth=auth, env=env)

    def health(_request: Request) -> Response:
        try:
            with app.engine.connect() as conn:
                ok = web_data.database_ok(conn)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("health_check_failed", error=type(exc).__name__)
            ok = False
        if ok:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        title = {404: "Page not found", 405: "Not allowed"}.get(exc.status_code, "Bad request")
        page = ctx.error(exc.status_code, title, "Check the address, or go to the dashboard.")
        if exc.headers:
            page.headers.update(exc.headers)
        return page

    def error_page(status: int, title: str, message: str) -> Response:
        return ctx.error(status, title, message)

    get, both = ["GET"], ["GET", "POST"]
    routes = [
        Route("/", guarded(ctx, dashboard), methods=get),
        # Record ids may hold "/" (the contract allows it): the form's route comes first, so
        # its fixed "/rationale" ending is matched before the item page takes the rest.
        Route(
            "/items/{rule_id}/{record_id:path}/rationale",
            guarded(ctx, rationale_form),
            methods=both,
        ),
        Route("/items/{rule_id}/{record_id:path}", guarded(ctx, item), methods=get),
        Route("/reports", guarded(ctx, reports), methods=get),
        Route("/reports/{report_id:int}", guarded(ctx, report), methods=get),
        Route("/health", health, methods=get),
        Mount("/static", StaticFiles(directory=web_dir / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, error_page=error_page)],
        exception_handlers={HTTPException: http_error},
    )
