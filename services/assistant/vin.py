"""A VIN typed as text: find it in a message, validate it, decode it offline (SPEC V1's rules, for text).

The photo pipeline (barcode, OCR) is `services/vin/`; when it is installed its typed-VIN validator and offline
decoder are used here (one set of rules for photos and text), otherwise `vininfo` directly. A VIN is `valid`
only with 17 allowed characters, numeric serial digits, a known maker code and — for North-American VINs, where
it is mandatory — a correct check digit; only then is it `verified`. Any other valid VIN may hide a misread
character, so the bot never presents it as certain. Look-alike repairs are limited to I→1, O→0, Q→0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from vininfo import Vin

_ALLOWED = re.compile(r'^[A-HJ-NPR-Z0-9]{17}$')
_SAFE_REPAIRS = str.maketrans({'I': '1', 'O': '0', 'Q': '0'})
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
    try:
        from services.vin.candidates import parse_typed_vin
        from services.vin.decoding import decode_vehicle, known_maker
    except ImportError:  # the photo pipeline is not installed: the same rules through vininfo
        return _decode_with_vininfo(raw)
    check = parse_typed_vin(raw)
    if not check.valid:
        return VinReading(vin=check.vin, valid=False, problem='no pasa la validación de un VIN')
    if not check.north_american and not known_maker(check.vin):
        return VinReading(vin=check.vin, valid=False, problem='no reconozco el código de fabricante')
    vehicle = decode_vehicle(check.vin)
    return VinReading(
        vin=check.vin,
        valid=True,
        make=_canonical_make(vehicle.make) if vehicle and vehicle.make else None,
        country=vehicle.country if vehicle else None,
        year=vehicle.year if vehicle else None,
        verified=check.north_american and check.check_digit_ok,
    )


def _decode_with_vininfo(raw: str) -> VinReading:
    vin = re.sub(r'[\s-]', '', raw).upper().translate(_SAFE_REPAIRS)
    if len(vin) != 17:
        return VinReading(vin=vin, valid=False, problem='un VIN tiene 17 caracteres')
    if not _ALLOWED.match(vin):
        return VinReading(vin=vin, valid=False, problem='tiene caracteres que un VIN no usa')
    try:
        decoded = Vin(vin)
        make = decoded.manufacturer
        country = decoded.country
        years = list(decoded.years or [])
    except (ValueError, KeyError, IndexError):
        return VinReading(vin=vin, valid=False, problem='no pude leer el fabricante')
    if not make or make in {'Unknown', 'UnsupportedBrand'}:
        return VinReading(vin=vin, valid=False, problem='no reconozco el código de fabricante')
    north_american = vin[0] in '12345'
    if not vin[13:].isdigit():
        return VinReading(vin=vin, valid=False, problem='los últimos caracteres de un VIN son números')
    if north_american and not decoded.verify_checksum():
        return VinReading(vin=vin, valid=False, make=make, problem='el dígito verificador no coincide')
    # The year code repeats every 30 years: the latest one not in the future.
    latest = datetime.now(UTC).year + 1
    year = max((y for y in years if y <= latest), default=None)
    return VinReading(
        vin=vin, valid=True, make=_canonical_make(make), country=country, year=year, verified=north_american
    )


def _canonical_make(make: str) -> str:
    return {'Citroen': 'Citroën', 'Mercedes-Benz': 'Mercedes-Benz', 'General Motors': 'Chevrolet'}.get(make, make)


def find_vin(text: str) -> VinReading | None:
    """The VIN in a message, if one is there: 17 characters in one piece or split by spaces/dashes
    ("9BW ZZZ 377 VT 004251"). A split VIN's pieces each hold a digit or are written in capitals, and a VIN
    ends in digits (the serial number), so ordinary words and phone numbers are never taken for one."""
    pieces = list(_PIECE.finditer(text))
    for start in range(len(pieces)):
        joined = ''
        for count, piece in enumerate(pieces[start : start + 8], start=1):
            value = piece.group()
            if count > 1 and not (any(ch.isdigit() for ch in value) or value.isupper()):
                break
            if count == 1 and len(value) < 17 and not (any(ch.isdigit() for ch in value) or value.isupper()):
                break
            joined += value
            if len(joined) > 17:
                break
            if len(joined) == 17:
                candidate = joined.upper()
                digits = sum(ch.isdigit() for ch in candidate)
                if digits >= 5 and len(candidate) - digits >= 2 and candidate[-4:].isdigit():
                    reading = decode_vin(candidate)
                    return VinReading(
                        vin=reading.vin,
                        valid=reading.valid,
                        make=reading.make,
                        country=reading.country,
                        year=reading.year,
                        problem=reading.problem,
                        verified=reading.verified,
                        span=(pieces[start].start(), piece.end()),
                    )
    return None
