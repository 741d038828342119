"""sync watermark per entity for `frontdoor sync`

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import frontdoor.dbtypes

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_watermark",
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("watermark", frontdoor.dbtypes.UtcDateTime(timezone=True), nullable=True),
        sa.Column("synced_at", frontdoor.dbtypes.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity"),
    )


def downgrade() -> None:
    op.drop_table("sync_watermark")
