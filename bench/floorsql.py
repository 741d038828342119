"""What the raw-SQL floors share: DB-API placeholders, boolean literals and bind values.

The floors talk to the driver directly (``engine.raw_connection()``), so they bind values the
way each database stores them: SQLite keeps instants as UTC text
(``YYYY-MM-DD HH:MM:SS.ffffff``), dates as ISO text and booleans as 0/1; PostgreSQL takes
Python values through psycopg.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class Dialect:
    """Placeholder, boolean literals and value binding for one engine."""

    sqlite: bool

    @property
    def p(self) -> str:
        """The DB-API placeholder."""
        return "?" if self.sqlite else "%s"

    @property
    def yes(self) -> str:
        """The literal for true."""
        return "1" if self.sqlite else "true"

    @property
    def no(self) -> str:
        """The literal for false."""
        return "0" if self.sqlite else "false"

    def bind(self, value: datetime | date) -> Any:
        """``value`` as the driver should receive it."""
        if not self.sqlite:
            return value
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat()


def dialect_of(engine: Any) -> Dialect:
    """The :class:`Dialect` of a SQLAlchemy engine."""
    return Dialect(sqlite=engine.dialect.name == "sqlite")
