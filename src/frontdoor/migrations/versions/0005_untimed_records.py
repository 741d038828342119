"""untimed flag on contacts and referrals (Annex A and CIN census records)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:10:00

A constant default: PostgreSQL 11+ adds the column without rewriting the table, and SQLite's
ADD COLUMN never rewrites, so this is quick at millions of rows. Records imported from Annex A
or the CIN census before this revision keep ``untimed = false``: re-import those files to mark
them (docs/annex-a.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (batch mode would copy the table on SQLite).
    for table in ("contact", "referral"):
        op.add_column(
            table, sa.Column("untimed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in ("contact", "referral"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("untimed")
