"""Waiting in page tests for state that stays: a row in the database, a label the page keeps showing.

A toast (`ui.notify`) tells the agent once and goes; a test that waits for it races the page on a busy machine.
Wait for what the action leaves behind instead, and assert on that."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

PATIENCE_SECONDS = 20.0  # the shared machine is often slow; a passing test returns as soon as the state is there


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = PATIENCE_SECONDS) -> None:
    """Until `check()` holds (polled every 0.1 s); fails naming the check when it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f'{getattr(check, "__name__", check)} did not hold within {seconds} s')
        await asyncio.sleep(0.1)
