"""Text every database accepts (issue 19, F1): NUL and lone surrogates replaced, everything else untouched, and the
cheap scan of a raw JSON body never misses a body that needs cleaning."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.storable import REPLACEMENT, json_text_may_be_unstorable, storable_json, storable_text

# Any code point, surrogates included: what a JSON escape can produce.
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF))


@pytest.mark.parametrize(
    ('raw', 'cleaned'),
    [
        ('pastillas\x00 de freno', f'pastillas{REPLACEMENT} de freno'),
        ('\ud800', REPLACEMENT),
        ('\udc00 y \ud83d', f'{REPLACEMENT} y {REPLACEMENT}'),
        ('gracias 😀 ñandú', 'gracias 😀 ñandú'),
    ],
)
def test_storable_text_replaces_only_what_a_database_refuses(raw: str, cleaned: str) -> None:
    assert storable_text(raw) == cleaned


@given(ANY_TEXT)
def test_storable_text_always_encodes_to_utf8_without_nul(text: str) -> None:
    stored = storable_text(text)
    assert b'\x00' not in stored.encode('utf-8')
    assert len(stored) == len(text)


@given(
    st.recursive(ANY_TEXT | st.integers() | st.none(), lambda inner: st.lists(inner) | st.dictionaries(ANY_TEXT, inner))
)
def test_the_scan_of_a_json_text_never_misses_what_needs_cleaning(value: object) -> None:
    body = json.dumps(value)  # ASCII with escapes, as Meta sends it
    if storable_json(json.loads(body)) != json.loads(body):
        assert json_text_may_be_unstorable(body)


@pytest.mark.parametrize(
    ('body', 'suspicious'),
    [
        ('{"a":"\\u0000"}', True),
        ('{"a":"\\ud800"}', True),
        ('{"a":"\\udc00"}', True),
        ('{"a":"\\ude00\\ud83d"}', True),
        ('{"a":"\\ud83d\\ude00"}', False),  # an emoji: a valid pair
        ('{"a":"\\uD83D\\uDE00"}', False),
        ('{"a":"\\u00e9 ñ"}', False),
    ],
)
def test_valid_surrogate_pairs_do_not_make_a_body_suspicious(body: str, suspicious: bool) -> None:
    assert json_text_may_be_unstorable(body) is suspicious
