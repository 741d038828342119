"""Migrations and models agree, and commands refuse a schema that is not current."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from frontdoor import db
from frontdoor.errors import SchemaOutdated


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to do: no table, column, type or index drift."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_a_current_schema_is_accepted(engine: Engine) -> None:
    db.require_current_schema(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_an_outdated_schema_is_refused_with_the_revisions_named(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        with pytest.raises(SchemaOutdated, match="revision 0000.*frontdoor migrate") as err:
            db.require_current_schema(engine)
        assert db.head_revision() in str(err.value)
        assert err.value.exit_code == 3
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": db.head_revision()}
            )
