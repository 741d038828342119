"""report period on outbox rows; open-contacts index covers team_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN = sa.text("outcome_at IS NULL")


def _open_index(*columns: str) -> None:
    op.drop_index("ix_contact_open", table_name="contact")
    op.create_index(
        "ix_contact_open",
        "contact",
        list(columns),
        unique=False,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place for every operation
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    # Covering for the weekly report's per-team counts of contacts open at week end.
    _open_index("received_at", "team_id")


def downgrade() -> None:
    _open_index("received_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("period")
