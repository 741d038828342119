"""Command body for ``frontdoor web [--host H] [--port P]``: serve the web app with uvicorn.

uvicorn's access log is off (``access_log=False``): it would write each request's query
string, and a digest link carries its access token there. :class:`frontdoor.web_app.Guard`
logs one line per request without it instead. ``log_config=None`` keeps the structlog
set-up the CLI made. The default host is the loopback interface: put the council's reverse
proxy (TLS) in front to serve other machines.
"""

from __future__ import annotations

import argparse

import uvicorn

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.errors import UsageError
from frontdoor.web_app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def serve(app: App, args: argparse.Namespace) -> int:
    """Run the web app until interrupted; 0 on a clean stop. Raises
    :class:`~frontdoor.errors.ConfigError` without ``FRONTDOOR_SECRET_KEY`` (before touching
    the database) and :class:`~frontdoor.errors.SchemaOutdated` for an old schema."""
    host = args.host or DEFAULT_HOST
    port = DEFAULT_PORT if args.port is None else args.port
    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: use 1 to 65535")
    web = create_app(app)
    db.require_current_schema(app.engine)
    shown = f"[{host}]" if ":" in host else host
    print(f"frontdoor web: serving http://{shown}:{port}/ (Ctrl+C stops it)", flush=True)
    if app.settings.web_url:
        print(f"public address (FRONTDOOR_WEB_URL): {app.settings.web_url}/", flush=True)
    uvicorn.run(
        web,
        host=host,
        port=port,
        access_log=False,  # it would log link tokens (query strings)
        log_config=None,
        server_header=False,
    )
    return 0
