"""Ids that travel with every log line written while handling one thing (SPEC O4, structured logs).

A request, a journaled webhook delivery, an outbound message or a conversation: code that handles one binds its id
(`with log_ids(delivery_id=…):`), and the log formatter (`app/logs.py`) adds whatever is bound to each line — in the
JSON lines an operator's log shipper indexes. Context variables, so concurrent tasks never see each other's ids.
Ids only, never message text (O3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_IDS: ContextVar[dict[str, int | str]] = ContextVar('leadmaster_log_ids', default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def log_ids(**ids: int | str | None) -> Iterator[None]:
    """Bind ids (None ones are left out) for the log lines written inside the block, on top of the outer ones."""
    token = _IDS.set({**_IDS.get(), **{key: value for key, value in ids.items() if value is not None}})
    try:
        yield
    finally:
        _IDS.reset(token)


def current_ids() -> dict[str, int | str]:
    return _IDS.get()
