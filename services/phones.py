"""Phone numbers to E.164 with phonenumbers, handling Argentina's mobile `9` (M7).

WhatsApp reports Argentine mobiles as 549 + area + number, while people and lists write them
as +54 11 …, 011 15 … or 11 15 …; all of those must land on one contact. Prospect lists (issue 16) add cells
holding several numbers and spreadsheet leftovers (`numbers_in_cell`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from .errors import InvalidInput

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@lru_cache(maxsize=65536)  # parsing costs ~0.1 ms and ingest sees the same customers again and again
def normalize_phone(raw: str, *, default_region: str = 'AR') -> str:
    """E.164 form of `raw` ('+5491155550101'); raises `InvalidInput` when it is not a valid number."""
    text = raw.strip()
    # WhatsApp ids (wa_id, `from`) are digits without '+'.
    if text.isdigit() and len(text) > 10:
        text = '+' + text
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        raise InvalidInput(f'not a phone number: {raw!r}') from exc
    if number.country_code == 54:
        number = _argentine_mobile_form(number)
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f'not a valid phone number: {raw!r}')
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _argentine_mobile_form(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    national = str(number.national_number)
    if national.startswith('9'):
        return number
    # "+54 11 5555-0101" without the 9 may be a fixed line or a mobile written the international way.
    # WhatsApp only serves mobiles, so if the 9-form is a valid mobile, that is the person.
    candidate = phonenumbers.PhoneNumber(country_code=54, national_number=int('9' + national))
    if phonenumbers.is_valid_number(candidate) and phonenumbers.number_type(candidate) in _MOBILE_TYPES:
        return candidate
    return number


def is_mobile(e164: str) -> bool:
    # An Argentine number in its +549 form is one `normalize_phone` (or WhatsApp) vouched for as a mobile: the 9 is
    # the mobile prefix. Skipping the parse matters when 100,000 imported prospects are scored.
    if len(e164) == 14 and e164.startswith('+549') and e164[1:].isdigit():
        return True
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE_TYPES


def wa_digits(e164: str) -> str:
    """The digits WhatsApp uses as a recipient id ('5491155550101')."""
    return e164.lstrip('+')


# Where a list writes two numbers in one cell: "011 4444-5555 / 15 5555-6666", "… o …", "…; …".
_SEVERAL_NUMBERS = re.compile(r'\s*(?:/|;|\||,|\bo\b|\by\b)\s*', re.IGNORECASE)
# A spreadsheet that took the number for a figure: "5491144445555.0".
_SPREADSHEET_FRACTION = re.compile(r'^(\+?\d+)\.0+$')


def numbers_in_cell(raw: str, *, default_region: str = 'AR') -> tuple[list[str], list[str]]:
    """(E.164 numbers, the pieces that are not numbers) of a cell from a prospect list, which may hold several
    numbers ("011 4444-5555 / 15-5555-6666") and spreadsheet leftovers ("5491144445555.0")."""
    valid: list[str] = []
    invalid: list[str] = []
    for written in _SEVERAL_NUMBERS.split(raw.strip()):
        piece = _SPREADSHEET_FRACTION.sub(r'\1', written.strip())
        if not piece:
            continue
        try:
            number = normalize_phone(piece, default_region=default_region)
        except InvalidInput:
            invalid.append(piece)
            continue
        if number not in valid:
            valid.append(number)
    return valid, invalid


def argentine_variants(e164: str) -> list[str]:
    """The forms one Argentine mobile may have been stored under (+549… and +54…), the normalised one first;
    other numbers are their own only form. Matching on both finds contacts saved before normalisation."""
    if e164.startswith('+549'):
        return [e164, '+54' + e164[4:]]
    if e164.startswith('+54'):
        return [e164, '+549' + e164[3:]]
    return [e164]
