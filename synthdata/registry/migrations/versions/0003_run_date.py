"""Scheduled runs: the run date (partition key) and the source fingerprint of each run.

``run --skip-unchanged`` looks up the last successful run of a pipeline for a run date and compares
its source fingerprint and config hash; ``runs list --run-date`` filters on the indexed date. Rows
written before this revision keep NULL in both columns (no run date, fingerprint unknown).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("run_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("source_fingerprint", sa.String(64), nullable=True))
    op.create_index("ix_runs_run_date", "runs", ["run_date"])


def downgrade() -> None:
    op.drop_index("ix_runs_run_date", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("source_fingerprint")
        batch.drop_column("run_date")
