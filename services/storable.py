"""Text that every database we run on accepts, whatever a customer (or an attacker) typed.

PostgreSQL refuses the NUL character in `text` and `jsonb` ("invalid byte sequence for encoding UTF8: 0x00"), and
no UTF-8 encoder accepts a lone surrogate (a half of a UTF-16 pair, `\\ud800`). Both arrive as valid JSON escapes
in a webhook body (`"\\u0000"`), so the body itself is journaled safely, but the parsed strings would fail the whole
transaction they are written in. Inbound text is cleaned here before it is stored: each such character becomes
U+FFFD, the replacement character, so the agent sees that something was there and nothing else changes.

Text people type in our own pages and API is refused instead (`InvalidInput`): an agent can correct it.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = '\ufffd'
_UNSTORABLE = re.compile('[\x00\ud800-\udfff]')
# In a JSON text: a \u0000 escape, a high surrogate escape not followed by a low one, or a low one not preceded by
# a high one. Valid pairs (emoji: "\ud83d\ude00") are what most bodies with escapes carry and must not match. An
# escaped backslash before "u0000" also matches; that only costs the slower, exact walk of `storable_json`.
_UNSTORABLE_ESCAPE = re.compile(
    r'\\u0000'
    r'|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})'
    r'|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}'
)


def has_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (the same object when there is none: the usual case)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_json(value: Any) -> Any:
    """A parsed JSON value with every string (keys included) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): storable_json(item) for key, item in value.items()}
    return value


def json_text_may_be_unstorable(text: str) -> bool:
    """Whether a JSON text may decode to unstorable strings: a cheap scan of the raw text, so the exact walk runs
    only for the rare body that needs it. Raw NUL and raw surrogates cannot be in valid JSON from UTF-8 bytes."""
    return '\\u' in text and _UNSTORABLE_ESCAPE.search(text) is not None
