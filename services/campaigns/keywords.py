"""Opt-out keywords (L4): "BAJA", "baja.", "Baja!!", "no me escriban más" and "NO ME ESCRIBAN MAS" are the same.

A single-word keyword must be the whole message: "STOP" opts out, "se me rompió el stop" (a brake light, at an
auto-parts shop) does not. A phrase of several words may sit inside a longer message ("por favor no me escriban
más, gracias"). Accents are folded with the standard library's Unicode decomposition: Spanish needs nothing more.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NOT_WORD = re.compile(r'[^a-z0-9ñ]+')


def normalized(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: 'No me escriban MÁS!!' → 'no me escriban mas'."""
    folded = unicodedata.normalize('NFKD', text.casefold())
    # Keep ñ (n + combining tilde) apart from n: "año" is not "ano"; every other mark goes.
    folded = folded.replace('n\u0303', 'ñ')
    plain = ''.join(char for char in folded if not unicodedata.combining(char))
    return _NOT_WORD.sub(' ', plain).strip()


def matched_keyword(text: str, keywords: Sequence[str]) -> str | None:
    """The configured keyword this message opts out with, or None."""
    message = normalized(text)
    if not message or len(message) > 300:  # an opt-out is short; a long message is a conversation
        return None
    padded = f' {message} '
    for keyword in keywords:
        wanted = normalized(keyword)
        if not wanted:
            continue
        if message == wanted or (' ' in wanted and f' {wanted} ' in padded):
            return keyword
    return None
