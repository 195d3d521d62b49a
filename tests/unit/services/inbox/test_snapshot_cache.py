"""Twenty pages reacting to one event read the database once."""

from __future__ import annotations

import asyncio

import pytest

from services.inbox.console import SnapshotCache


async def test_concurrent_reads_of_the_same_key_load_once() -> None:
    cache = SnapshotCache()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return 'row'

    results = await asyncio.gather(*(cache.get(('row', 1, 99), load) for _ in range(20)))

    assert results == ['row'] * 20 and loads == 1


async def test_a_new_event_reads_again_and_a_failed_load_is_not_cached() -> None:
    cache = SnapshotCache()
    calls: list[int] = []

    async def load() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError('database restarting')
        return len(calls)

    with pytest.raises(ConnectionError):
        await cache.get(('row', 1, 1), load)
    assert await cache.get(('row', 1, 1), load) == 2
    assert await cache.get(('row', 1, 2), load) == 3  # another event: read again
