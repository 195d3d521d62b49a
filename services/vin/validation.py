"""What makes 17 characters a VIN (ISO 3779, 49 CFR 565): alphabet, model-year code, North-American check digit.

Validation decides what the rest of the product may say: a North-American VIN whose check digit matches is
*verified*; any other VIN with a valid structure is *unverified* ("sin verificar") — it may be right, but a
misread character would go unnoticed, so it is never presented as certain unless independent recognizers read it
alike (consensus.py makes it verified then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

VIN_LENGTH = 17
VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'  # no I, O, Q (they look like 1 and 0)
VIN_PATTERN = re.compile(r'[A-HJ-NPR-Z0-9]{17}')
YEAR_CODES = 'ABCDEFGHJKLMNPRSTVWXY123456789'  # position 10; 30-year cycle starting 1980 (A) / 2010 (A)
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip('ABCDEFGH', range(1, 9), strict=True)),
    **dict(zip('JKLMN', range(1, 6), strict=True)),
    'P': 7,
    'R': 9,
    **dict(zip('STUVWXYZ', range(2, 10), strict=True)),
}


class VinStatus(StrEnum):
    # A North-American VIN whose check digit matches; or (consensus.py) any VIN independent recognizers read alike.
    VERIFIED = 'verified'
    UNVERIFIED = 'unverified'  # valid structure, not confirmed ("sin verificar": the customer is asked to confirm)
    NONE = 'none'  # nothing valid was found


@dataclass(frozen=True)
class VinCheck:
    vin: str
    status: VinStatus
    north_american: bool
    check_digit_ok: bool
    # Why it was rejected (status NONE) — a short English reason for logs, candidates lists and the CLI.
    reason: str = ''

    @property
    def valid(self) -> bool:
        return self.status != VinStatus.NONE


def check_digit(vin: str) -> str:
    """The position-9 digit of 49 CFR 565.15: weighted sum of transliterated characters mod 11 (10 → X)."""
    if len(vin) != VIN_LENGTH or any(char not in _VALUES for char in vin):
        raise ValueError(f'not 17 VIN characters: {vin!r}')
    remainder = sum(_VALUES[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True)) % 11
    return 'X' if remainder == 10 else str(remainder)


def is_north_american(vin: str) -> bool:
    """WMI from the United States, Canada or Mexico (1–5), or the newer US block 7F–70 (7A–7E is New Zealand)."""
    if not vin:
        return False
    return vin[0] in '12345' or (vin[0] == '7' and len(vin) > 1 and vin[1] not in 'ABCDE')


def model_years(vin: str) -> tuple[int, ...]:
    """The model years position 10 can mean: one per 30-year cycle since 1980, newest first; () if not a year code."""
    if len(vin) < 10 or vin[9] not in YEAR_CODES:
        return ()
    first = 1980 + YEAR_CODES.index(vin[9])
    return (first + 30, first)


def model_year(vin: str, *, today: datetime | None = None) -> int | None:
    """The model year of position 10.

    North America (49 CFR 565.15): a digit at position 7 means the 1980–2009 cycle, a letter 2010–2039.
    Elsewhere position 7 follows no such rule (a 2012 Brazilian Gol has a digit there), so the newest year
    that is not after next year is taken: a car asking for parts today is far more likely 2012 than 1982.
    """
    years = model_years(vin)
    if not years:
        return None
    newer, older = years
    if is_north_american(vin) and len(vin) >= 7:
        return older if vin[6].isdigit() else newer
    next_year = (today or datetime.now(UTC)).year + 1
    return newer if newer <= next_year else older


def validate_vin(vin: str, *, strict_year: bool = True) -> VinCheck:
    """Structure, serial digits, model-year code and — for North-American WMIs — the check digit.

    `strict_year` (for OCR output) rejects a position 10 that is no year code: it is part of what keeps a
    random 17-character string from being taken for a VIN. A VIN typed by a person may be an older European
    one without a year there, so manual entry passes `strict_year=False`.
    """
    north_american = is_north_american(vin)

    def rejected(reason: str) -> VinCheck:
        return VinCheck(
            vin=vin, status=VinStatus.NONE, north_american=north_american, check_digit_ok=False, reason=reason
        )

    if len(vin) != VIN_LENGTH:
        return rejected(f'{len(vin)} characters, 17 needed')
    if not VIN_PATTERN.fullmatch(vin):
        return rejected('characters outside the VIN alphabet (no I, O, Q)')
    # ISO 3779 5.3: the last four characters are numeric (small makers: the last three, WMI ends in 9).
    serial = vin[14:] if vin[2] == '9' else vin[13:]
    if not serial.isdigit():
        return rejected('serial number part is not numeric')
    if not any(char.isalpha() for char in vin[:8]):
        return rejected('no letter in the maker and model part')
    if vin[9] not in YEAR_CODES and (strict_year or north_american):
        return rejected('position 10 is not a model-year code')
    digit_ok = check_digit(vin) == vin[8]
    if north_american:
        if not digit_ok:
            return rejected('North-American check digit does not match')
        return VinCheck(vin=vin, status=VinStatus.VERIFIED, north_american=True, check_digit_ok=True)
    return VinCheck(vin=vin, status=VinStatus.UNVERIFIED, north_american=False, check_digit_ok=digit_ok)


def with_check_digit(vin: str) -> str:
    """`vin` with position 9 set to its check digit (to generate test VINs, never to repair a reading)."""
    return vin[:8] + check_digit(vin[:8] + '0' + vin[9:]) + vin[9:]
