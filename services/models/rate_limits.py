"""Tables of the rate limits shared across processes (issue 20)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class RateLimitBucket(SQLModel, table=True):
    """One token bucket (services/rate_limits.py): a number's sends per second, a customer's messages per minute, a
    WA-Web session's pace. Every worker process takes its tokens here, so N processes together keep one rate.
    `tokens` goes below zero while senders wait for tokens they were promised (a reservation each)."""

    __tablename__ = 'rate_limit_buckets'

    key: str = Field(primary_key=True, max_length=200)
    capacity: float  # tokens at most: the burst
    per_second: float  # refill rate
    tokens: float
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
