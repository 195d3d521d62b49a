"""Secrets kept in the database, encrypted at rest (SPEC O3, issue 19): see services/secrets.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class StoredSecret(SQLModel, table=True):
    """One secret setting (e.g. `llm_api_key`), AES-256-GCM encrypted; the key is never in the database.

    No branch column: every secret today is one setting of the whole deployment (one LLM key, one Meta token, one
    WAHA gateway). A credential that belongs to one branch or session belongs with the row it configures; the
    migration that adds such a thing can add a scope here then, when it is known what it scopes."""

    __tablename__ = 'stored_secrets'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    # Which key encrypted it: a fingerprint of the key (services.secrets.SecretsKey.key_id), never the key.
    key_id: str = Field(max_length=16)
    nonce: bytes = Field(sa_type=LargeBinary)
    ciphertext: bytes = Field(sa_type=LargeBinary)
    set_by_user_id: int | None = Field(default=None, foreign_key='users.id')
    set_by: str = Field(max_length=120)  # the username, or `cli`
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
