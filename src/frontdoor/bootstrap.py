"""Composition root: the only place that builds adapters from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from frontdoor.clock import WorkingCalendar, england_calendar
from frontdoor.db import make_engine
from frontdoor.rules import AttendanceRule, TimescaleRule, load_rules
from frontdoor.settings import Settings


def system_now() -> datetime:
    """The real current time (aware UTC). The one clock adapter; core code takes ``now``."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class App:
    """Everything a command needs, built once from settings."""

    settings: Settings
    engine: Engine
    rules: list[TimescaleRule | AttendanceRule]
    calendar: WorkingCalendar


def build_app(settings: Settings, *, engine: Engine | None = None) -> App:
    """Load rules, build the calendar and the database engine.

    Raises :class:`~frontdoor.errors.RuleError` for invalid rules. ``engine`` lets tests pass
    their own.
    """
    rules = load_rules(settings.rules_dir)
    return App(
        settings=settings,
        engine=engine or make_engine(settings.effective_database_url),
        rules=rules,
        calendar=england_calendar(settings.timezone),
    )
