"""A VIN typed in a message: find it, then validate and decode it with the photo pipeline's rules (SPEC V1).

Finding is this module's (chat text is not OCR output); what a valid VIN is and what it says are
`services/vin`'s, the same for photos and text: `parse_typed_vin` (spaces and dashes ignored, only the safe
look-alike repairs I→1, O→0, Q→0, `validate_vin` without the strict year rule), `known_maker` and
`decode_vehicle`. A VIN is `valid` only if it passes that validation and — when no check digit covers it —
names a known maker, as an OCR reading must (a typed 17-character string with an unassigned maker code is far
more likely a typo than a car). Only a North-American VIN with a matching check digit is `verified`; any other
valid VIN may hide a mistyped character, so the bot never presents it as certain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..catalog.text import fold
from ..catalog.vehicles import MAKE_ALIASES
from ..vin.candidates import parse_typed_vin
from ..vin.decoding import decode_vehicle, known_maker
from ..vin.validation import VIN_LENGTH, VinStatus

_PIECE = re.compile(r'[A-Za-z0-9]+')


@dataclass(frozen=True)
class VinReading:
    vin: str
    valid: bool
    make: str | None = None
    country: str | None = None
    year: int | None = None
    problem: str = ''  # why it is not valid, in Spanish for the customer-facing reply
    verified: bool = False  # a North-American check digit confirmed it; otherwise never presented as certain
    span: tuple[int, int] | None = None  # where it was in the message (find_vin)


def decode_vin(raw: str) -> VinReading:
    """Validate and decode a typed VIN with `services/vin`'s rules (see the module docstring)."""
    check = parse_typed_vin(raw)
    if not check.valid:
        return VinReading(vin=check.vin, valid=False, problem='no pasa la validación de un VIN')
    if check.status == VinStatus.UNVERIFIED and not known_maker(check.vin):
        return VinReading(vin=check.vin, valid=False, problem='no reconozco el código de fabricante')
    vehicle = decode_vehicle(check.vin)
    return VinReading(
        vin=check.vin,
        valid=True,
        make=_catalog_make(vehicle.make) if vehicle and vehicle.make else None,
        country=vehicle.country if vehicle else None,
        year=vehicle.year if vehicle else None,
        verified=check.status == VinStatus.VERIFIED,
    )


def _catalog_make(make: str) -> str:
    """The decoder's maker as the catalog spells makes, which the search's vehicle filter compares: the catalog's
    own aliases ('Citroen' → 'Citroën', 'Mercedes Benz' → 'Mercedes-Benz'), and GM's group name for its brand."""
    return MAKE_ALIASES.get(fold(make), 'Chevrolet' if make == 'General Motors' else make)


def find_vin(text: str) -> VinReading | None:
    """The VIN in a message, if one is there: 17 characters in one piece or split by spaces/dashes
    ("9BW ZZZ 377 VT 004251"). A split VIN's pieces each hold a digit or are written in capitals, and a VIN
    ends in digits (the serial number), so ordinary words and phone numbers are never taken for one; a split one
    that takes a word of four letters or more counts only when it is a valid VIN (a message in capitals)."""
    pieces = list(_PIECE.finditer(text))
    for start in range(len(pieces)):
        joined = ''
        for count, piece in enumerate(pieces[start : start + 8], start=1):
            value = piece.group()
            looks_like_vin_text = any(ch.isdigit() for ch in value) or value.isupper()
            if not looks_like_vin_text and (count > 1 or len(value) < VIN_LENGTH):
                break
            joined += value
            if len(joined) > VIN_LENGTH:
                break
            if len(joined) == VIN_LENGTH:
                candidate = joined.upper()
                digits = sum(ch.isdigit() for ch in candidate)
                if digits >= 5 and len(candidate) - digits >= 2 and candidate[-4:].isdigit():
                    reading = decode_vin(candidate)
                    words = [p.group() for p in pieces[start : start + count] if p.group().isalpha()]
                    if count > 1 and not reading.valid and any(len(word) >= 4 for word in words):
                        # Capitals are words too ("LÁMPARAS H4 PARA EL VENTO 2010" joins into 17 characters): a
                        # split VIN with a whole word in it must be a real one, or it is just a shouted sentence.
                        continue
                    return replace(reading, span=(pieces[start].start(), piece.end()))
    return None
