"""Token buckets for the outbox's rate limits (M3, M6; issue 20): a number's sends per second (Meta's throughput), a
customer's messages per minute (Meta's pair rate), a WA-Web session's human pace.

Two implementations with one interface, chosen by the database (`rate_limits_for`):

- `SharedRateLimits` (PostgreSQL): the buckets live in `rate_limit_buckets`, and every acquire is ONE atomic
  upsert … RETURNING that refills the bucket for the time gone by and takes a token. When none is left it takes
  one anyway (the balance goes negative: a reservation) and the caller sleeps until its token is due. The row lock
  serialises the acquires of every process, so N worker processes together never exceed the rate one alone keeps.
  Redis would do the same with a Lua script; it was not added: it is not a dependency (one more service to run
  and back up), and the upsert costs one round trip (measured in bench/ingest.py's report) on the database every
  process already holds.
- `LocalRateLimits` (SQLite, where one process runs the workers): `aiolimiter` buckets in memory.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiolimiter import AsyncLimiter
from sqlalchemy import text

from .database import Database


@dataclass(frozen=True)
class Bucket:
    """`capacity` tokens at most (the burst), refilled at `per_second`."""

    key: str
    capacity: float
    per_second: float


def number_bucket(phone_number_id: str, *, per_second: float) -> Bucket:
    """Meta's throughput per business number: `per_second` sends, in bursts of at most one second's worth."""
    return Bucket(f'number:{phone_number_id}', capacity=per_second, per_second=per_second)


def recipient_bucket(recipient: str, *, burst: int, period_seconds: float) -> Bucket:
    """Meta's pair rate per customer: `burst` messages, then one every `period_seconds / burst`."""
    return Bucket(f'recipient:{recipient}', capacity=burst, per_second=burst / period_seconds)


def session_bucket(session_name: str, *, interval_seconds: float) -> Bucket:
    """A WA-Web session: one message every `interval_seconds`, never a burst (seed 001: bot-like bursts get banned)."""
    return Bucket(f'session:{session_name}', capacity=1, per_second=1 / interval_seconds)


class RateLimits(Protocol):
    async def acquire(self, buckets: Sequence[Bucket]) -> None:
        """Wait until a token of every bucket is ours."""
        ...


class LocalRateLimits:
    """In this process only: for SQLite, where one process runs the workers. A bounded LRU of buckets: customers
    come and go."""

    def __init__(self, *, max_buckets: int = 10_000) -> None:
        self._limiters: OrderedDict[Bucket, AsyncLimiter] = OrderedDict()
        self._max = max_buckets

    async def acquire(self, buckets: Sequence[Bucket]) -> None:
        for bucket in buckets:
            await self._limiter(bucket).acquire()

    def _limiter(self, bucket: Bucket) -> AsyncLimiter:
        limiter = self._limiters.pop(bucket, None) or AsyncLimiter(bucket.capacity, bucket.capacity / bucket.per_second)
        self._limiters[bucket] = limiter
        if len(self._limiters) > self._max:
            self._limiters.popitem(last=False)
        return limiter


# Every bucket of one acquire in one statement: refilled for the time since its last acquire (capped at its
# capacity), one token taken, the new balance returned. A new bucket starts full; a bucket whose rate was changed
# (a setting) takes the new one at once. asyncpg's own placeholders: it runs on the driver's connection (below).
_TAKE_TOKENS = """
INSERT INTO rate_limit_buckets AS b (key, capacity, per_second, tokens, updated_at)
SELECT key, capacity, per_second, capacity - 1, clock_timestamp()
FROM unnest($1::varchar[], $2::float8[], $3::float8[]) AS t(key, capacity, per_second)
ORDER BY key
ON CONFLICT (key) DO UPDATE SET
    capacity = excluded.capacity,
    per_second = excluded.per_second,
    tokens = least(
        excluded.capacity,
        b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * excluded.per_second
    ) - 1,
    updated_at = clock_timestamp()
RETURNING key, tokens
"""


# A token only when one is there now (no reservation): the lease of a scheduled job's round (services/workers.py).
_TRY_TAKE_TOKEN = text("""
INSERT INTO rate_limit_buckets AS b (key, capacity, per_second, tokens, updated_at)
VALUES (:key, :capacity, :per_second, :capacity - 1, clock_timestamp())
ON CONFLICT (key) DO UPDATE SET
    capacity = excluded.capacity,
    per_second = excluded.per_second,
    tokens = least(
        excluded.capacity, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * excluded.per_second
    ) - 1,
    updated_at = clock_timestamp()
WHERE least(
    excluded.capacity, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * excluded.per_second
) >= 1
RETURNING key
""")


class SharedRateLimits:
    """In PostgreSQL, shared by every process (see the module's docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(self, buckets: Sequence[Bucket]) -> float:
        """Take a token of each bucket now; returns the seconds until the last of them is due (0: all at once)."""
        unique = {bucket.key: bucket for bucket in buckets}
        ordered = [unique[key] for key in sorted(unique)]  # one lock order for every process
        # The driver's connection and its prepared statement: through an ORM session the same statement cost twice
        # the client's CPU (0.6 ms more per acquire, measured), and a busy outbox acquires thousands a second.
        async with self.db.engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None  # None only once a pooled connection was invalidated; it was just checked out
            rows = await raw.fetch(
                _TAKE_TOKENS,
                [bucket.key for bucket in ordered],
                [float(bucket.capacity) for bucket in ordered],
                [float(bucket.per_second) for bucket in ordered],
            )
        return max((max(0.0, -row['tokens'] / unique[row['key']].per_second) for row in rows), default=0.0)

    async def acquire(self, buckets: Sequence[Bucket]) -> None:
        if buckets and (wait := await self.take(buckets)) > 0:
            await asyncio.sleep(wait)

    async def try_take(self, bucket: Bucket) -> bool:
        """A token of `bucket` if one is there now; False (nothing taken) otherwise."""
        async with self.db.autocommit_session() as session:
            taken = await (await session.connection()).execute(
                _TRY_TAKE_TOKEN.bindparams(
                    key=bucket.key, capacity=float(bucket.capacity), per_second=float(bucket.per_second)
                )
            )
            return taken.first() is not None


def rate_limits_for(db: Database) -> RateLimits:
    """Shared on PostgreSQL (several worker processes may send), in memory on SQLite (one process)."""
    return SharedRateLimits(db) if db.dialect == 'postgresql' else LocalRateLimits()
