"""Tables of the registry (SQLAlchemy Core): identical on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table

metadata = MetaData()

# An identity id, once issued, is never deleted or reused: a merged identity keeps its row and
# points at the survivor, so old ids stay resolvable.
identities = Table(
    "identities",
    metadata,
    Column("identity_id", String(64), primary_key=True),
    Column("block_key", String(256), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # active | merged
    Column("merged_into", String(64), ForeignKey("identities.identity_id"), nullable=True),
    Column("split_from", String(64), ForeignKey("identities.identity_id"), nullable=True),
    Column("created_seq", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False, index=True),
)

# The mention as received (its JSONL form) and the identity it belongs to now.
mentions = Table(
    "mentions",
    metadata,
    Column("mention_id", String(512), primary_key=True),
    Column("identity_id", String(64), ForeignKey("identities.identity_id"), nullable=False, index=True),
    Column("block_key", String(256), nullable=False, index=True),
    Column("record", JSON, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("linked_seq", BigInteger, nullable=False),
    # A block's mentions linked since a given change: what a server reads on each resolution.
    Index("ix_mentions_block_key_linked_seq", "block_key", "linked_seq"),
)

# Curation: must-link and cannot-link pairs of mentions that every later decision honours.
constraints = Table(
    "constraints",
    metadata,
    Column("constraint_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # must_link | cannot_link
    Column("mention_a", String(512), ForeignKey("mentions.mention_id"), nullable=False),
    Column("mention_b", String(512), ForeignKey("mentions.mention_id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("constraints_mention_a", "mention_a"),
    Index("constraints_mention_b", "mention_b"),
)

# The ordered, durable change feed (and audit trail). Sequence numbers come from the counter
# below inside the writing transaction, so they are gap-free and ordered as readers see them.
changes = Table(
    "changes",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),  # created | linked | merged | split
    Column("identity_id", String(64), nullable=False, index=True),
    Column("other_identity_id", String(64), nullable=True),
    Column("mention_id", String(512), nullable=True),
    Column("detail", JSON, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
