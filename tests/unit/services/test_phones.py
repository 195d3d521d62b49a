"""Phone numbers land on one E.164 form whatever way a person or WhatsApp writes them (M7)."""

from __future__ import annotations

import pytest

from services.errors import InvalidInput
from services.phones import argentine_variants, is_mobile, normalize_phone, numbers_in_cell, wa_digits


@pytest.mark.parametrize(
    'written',
    [
        '+54 9 11 5555-0101',  # international mobile form
        '+54 11 5555-0101',  # international without the mobile 9
        '5491155550101',  # WhatsApp wa_id
        '011 15 5555-0101',  # national with trunk 0 and the local mobile 15
        '11 15 5555 0101',
    ],
)
def test_argentine_mobile_written_any_way_is_one_number(written: str) -> None:
    assert normalize_phone(written) == '+5491155550101'


def test_interior_mobile_with_three_digit_area_code() -> None:
    assert normalize_phone('0351 15 555-0101') == '+5493515550101'


def test_foreign_numbers_keep_their_country() -> None:
    assert normalize_phone('+1 650 253 0000') == '+16502530000'


@pytest.mark.parametrize('garbage', ['', 'hola', '+54 11', '123'])
def test_invalid_numbers_are_refused_with_a_clear_error(garbage: str) -> None:
    with pytest.raises(InvalidInput, match='phone number'):
        normalize_phone(garbage)


def test_mobile_detection_and_whatsapp_digits() -> None:
    assert is_mobile('+5491155550101')
    assert not is_mobile('not a number')
    assert wa_digits('+5491155550101') == '5491155550101'


@pytest.mark.parametrize(
    ('cell', 'numbers', 'rest'),
    [
        ('011 15-4444-5555', ['+5491144445555'], []),
        ('0351 15 512-3456', ['+5493515123456'], []),
        ('(0291) 15 444-5555', ['+5492914445555'], []),
        ('+54 9 11 4444 5555', ['+5491144445555'], []),
        ('+54 11 4444 5555', ['+5491144445555'], []),  # without the 9: the same mobile
        ('5491144445555.0', ['+5491144445555'], []),  # a spreadsheet took it for a figure
        ('011 4444-5555 / 0351 15 512-3456', ['+5491144445555', '+5493515123456'], []),
        ('11 4444-5555 o hola', ['+5491144445555'], ['hola']),
        ('', [], []),
    ],
)
def test_a_prospect_lists_cell_yields_its_numbers_and_what_is_not_one(
    cell: str, numbers: list[str], rest: list[str]
) -> None:
    assert numbers_in_cell(cell) == (numbers, rest)


def test_both_forms_of_an_argentine_mobile_are_looked_up() -> None:
    assert argentine_variants('+5491144445555') == ['+5491144445555', '+541144445555']
    assert argentine_variants('+12025550143') == ['+12025550143']
