"""Covering indexes: the period queries and the status/aging counts read the index alone (index-only scans).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "analytics"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX facts_decided_cover ON {S}.facts (decided_day) INCLUDE "
        "(outcome, review_type, met, turnaround_seconds, resubmission, reviewer) WHERE outcome IS NOT NULL"
    )
    op.execute(f"CREATE INDEX facts_state_cover ON {S}.facts (state) INCLUDE (received_at, due_at)")
    op.execute(
        f"CREATE INDEX facts_received_cover ON {S}.facts (received_day) INCLUDE (practitioner_npi, outcome, channel)"
    )
    op.execute(
        f"CREATE INDEX fact_lines_decided_cover ON {S}.fact_lines (decided_day) INCLUDE (code, state_of_service, outcome)"
    )
    op.execute(f"CREATE INDEX daily_kind_day ON {S}.daily (kind, day) INCLUDE (channel, outcome, count, met)")
    # reviewers: read in reviewer order from the index (no sort of a year's decisions), medians per group
    op.execute(f"DROP INDEX {S}.facts_reviewer")
    op.execute(
        f"CREATE INDEX facts_reviewer ON {S}.facts (reviewer, decided_day) INCLUDE (outcome, met, turnaround_seconds) "
        "WHERE outcome IS NOT NULL AND reviewer IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.facts_reviewer")
    op.execute(f"CREATE INDEX facts_reviewer ON {S}.facts (reviewer, decided_day)")
    for name in ("daily_kind_day", "fact_lines_decided_cover", "facts_received_cover", "facts_state_cover",
                 "facts_decided_cover"):
        op.execute(f"DROP INDEX IF EXISTS {S}.{name}")
