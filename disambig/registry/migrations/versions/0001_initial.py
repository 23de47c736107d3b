"""Initial registry: identities, mentions, constraints, change feed, counters.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("identity_id", sa.String(64), primary_key=True),
        sa.Column("block_key", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(64), sa.ForeignKey("identities.identity_id"), nullable=True),
        sa.Column("split_from", sa.String(64), sa.ForeignKey("identities.identity_id"), nullable=True),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_identities_block_key", "identities", ["block_key"])
    op.create_index("ix_identities_updated_seq", "identities", ["updated_seq"])
    op.create_table(
        "mentions",
        sa.Column("mention_id", sa.String(512), primary_key=True),
        sa.Column("identity_id", sa.String(64), sa.ForeignKey("identities.identity_id"), nullable=False),
        sa.Column("block_key", sa.String(256), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("linked_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_mentions_identity_id", "mentions", ["identity_id"])
    op.create_index("ix_mentions_block_key", "mentions", ["block_key"])
    op.create_table(
        "constraints",
        sa.Column("constraint_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mention_a", sa.String(512), sa.ForeignKey("mentions.mention_id"), nullable=False),
        sa.Column("mention_b", sa.String(512), sa.ForeignKey("mentions.mention_id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("constraints_mention_a", "constraints", ["mention_a"])
    op.create_index("constraints_mention_b", "constraints", ["mention_b"])
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("identity_id", sa.String(64), nullable=False),
        sa.Column("other_identity_id", sa.String(64), nullable=True),
        sa.Column("mention_id", sa.String(512), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_changes_identity_id", "changes", ["identity_id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(sa.table("counters", sa.column("name"), sa.column("value")), [{"name": "changes", "value": 0}])


def downgrade() -> None:
    for table in ("counters", "changes", "constraints", "mentions", "identities"):
        op.drop_table(table)
