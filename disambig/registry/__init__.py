"""The identity registry: where resolved mentions, identities, curation and the change feed live.

One SQLAlchemy Core code path serves SQLite (the embedded default) and PostgreSQL (several
replicas sharing one registry). The core engine never imports this package.
"""

from disambig.registry.store import Change, IdentityRecord, NewLink, Registry, UnknownIdentityError

__all__ = ["Change", "IdentityRecord", "NewLink", "Registry", "UnknownIdentityError"]
