"""Index mentions by (block_key, linked_seq): a server reads a block's mentions linked since its
last look at the block on every resolution, without scanning the whole block.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_block_key_linked_seq", "mentions", ["block_key", "linked_seq"])


def downgrade() -> None:
    op.drop_index("ix_mentions_block_key_linked_seq", table_name="mentions")
