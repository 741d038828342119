"""Database adapter: engines, migrations and the schema-version guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from frontdoor.errors import SchemaOutdated

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the file's folder and set fast, safe pragmas.

    Bound parameters are never rendered into error messages (``hide_parameters``): they can
    hold case data.

    SQLite runs in WAL mode with ``synchronous=NORMAL`` (durable across application crashes,
    may lose the last transaction on power loss) and a 64 MiB page cache: the default 2 MiB
    cache made the scan 2.7x slower (stack-notes.md §6.3).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, *, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the schema to ``revision``; return (before, after) revisions."""
    before = current_revision(engine)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine) or ""


def require_current_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutdated` unless the database is at the head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaOutdated(
            f"the database at {where} has no frontdoor schema yet: run `frontdoor migrate`"
        )
    raise SchemaOutdated(
        f"the database at {where} is at schema revision {current}, this version of "
        f"frontdoor needs {head}: run `frontdoor migrate` (back up the database first)"
    )


def analyze(engine: Engine, table: str) -> None:
    """Refresh the planner's statistics for ``table`` after a bulk change.

    The scan's query shapes rely on the planners knowing that open records are few: without
    statistics SQLite may walk a full index instead of the partial index on open records.
    SQLite samples at most 1000 rows per index (``analysis_limit``) to keep this fast at
    millions of rows.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql(f"ANALYZE {table}")
