"""Ids that travel with every log line written while handling one thing (SPEC O4, structured logs).

A request, a journaled webhook delivery, an outbound message or a conversation: code that handles one binds its id
(`with log_ids(delivery_id=…):`), and the log formatter (`app/logs.py`) adds whatever is bound to each line — in the
JSON lines an operator's log shipper indexes. Context variables, so concurrent tasks never see each other's ids.
Ids only, never message text (O3).
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_IDS: ContextVar[dict[str, int | str]] = ContextVar('leadmaster_log_ids', default={})  # noqa: B039 - never mutated


class log_ids:  # noqa: N801 - used as a function: `with log_ids(delivery_id=…):`
    """Bind ids (None ones are left out) for the log lines written inside the block, on top of the outer ones.
    A class rather than a generator context manager: it wraps every request, so its cost counts."""

    __slots__ = ('_ids', '_token')
    _token: Token[dict[str, int | str]]

    def __init__(self, **ids: int | str | None) -> None:
        self._ids = {key: value for key, value in ids.items() if value is not None}

    def __enter__(self) -> None:
        self._token = _IDS.set({**_IDS.get(), **self._ids})

    def __exit__(self, *exc_info: object) -> None:
        _IDS.reset(self._token)


def current_ids() -> dict[str, int | str]:
    return _IDS.get()
