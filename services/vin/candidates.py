"""VIN candidates in OCR or barcode text: 17-character tokens, also when the OCR split them in pieces.

Only the three substitutions that cannot create a wrong VIN are made — I→1, O→0, Q→0 (those letters never
appear in a VIN). Look-alikes such as 8/B, 5/S, 2/Z, 0/D or 6/G are never "repaired" until a check digit
passes: a random string passes it one time in eleven, so repairing manufactures wrong VINs that look verified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .validation import VIN_LENGTH, VinCheck, validate_vin

_SAFE_MAP = str.maketrans({'I': '1', 'O': '0', 'Q': '0'})
# Lower-case letters drawn exactly like their capitals (an OCR engine cannot tell them apart); any other
# lower-case letter (l, i, b, g…) is a different shape, and a token holding one is not taken for a VIN.
_SAME_SHAPE_LOWER = str.maketrans('cosuvwxz', 'COSUVWXZ')
_SEPARATORS = re.compile(r'[\s:;,.\-_/\\|*#()\[\]{}<>"\'`~=+]+')
# Words printed right before the VIN on labels and titles, sometimes glued to it by the OCR.
_LABEL_PREFIXES = ('CHASSIS', 'CHASIS', 'VIN', 'NIV')
MAX_JOINED_TOKENS = 4


@dataclass(frozen=True)
class Candidate:
    check: VinCheck
    joined: bool  # built from several OCR tokens of one line
    confidence: float  # the OCR engine's own confidence for the text it came from, 0..1

    @property
    def vin(self) -> str:
        return self.check.vin


def normalize_token(token: str) -> str | None:
    """Upper case (same-shape letters only) and I/O/Q mapped; None if the token holds anything else."""
    token = token.translate(_SAME_SHAPE_LOWER)
    if not token.isascii() or not token.isalnum() or token.upper() != token:
        return None
    return token.translate(_SAFE_MAP)


def _without_label_prefix(token: str) -> str:
    for prefix in _LABEL_PREFIXES:
        mapped = prefix.translate(_SAFE_MAP)
        for form in {prefix, mapped}:
            if token.startswith(form) and len(token) - len(form) == VIN_LENGTH:
                return token[len(form) :]
    return token


_EDGE_MARKS = '*|"\'()[]{}<>'


def _pieces(line: str) -> list[tuple[list[str | None], bool]]:
    """Whitespace tokens of a line, each as its normalised pieces and whether it may join its neighbours.

    Only clean alphanumeric tokens join: a VIN contains no ':', '/', '.' or ',', so a token such as "EN:"
    or "11/2014" is other label text ("FABRICADO EN: 11/2014" must not become FABR1CAD0EN112014).
    """
    result = []
    for raw in line.split():
        stripped = raw.strip(_EDGE_MARKS)
        pieces = [normalize_token(piece) for piece in _SEPARATORS.split(stripped) if piece]
        joinable = bool(stripped) and stripped.isalnum() and pieces[0] is not None
        result.append((pieces, joinable))
    return result


def tokens_of(line: str) -> list[str | None]:
    """A line's tokens, normalised; None marks a token that cannot be part of a VIN."""
    return [piece for pieces, _ in _pieces(line) for piece in pieces]


def candidates_in_line(line: str, *, confidence: float = 1.0, strict_year: bool = True) -> list[Candidate]:
    """Every 17-character string a line offers: whole tokens (also with a glued label word such as "VIN"),
    and runs of consecutive clean tokens whose lengths add up to 17 — each validated, valid or not."""
    tokens = _pieces(line)
    found: dict[str, Candidate] = {}

    def add(text: str, joined: bool) -> None:
        found.setdefault(text, Candidate(validate_vin(text, strict_year=strict_year), joined, confidence))

    for pieces, _ in tokens:
        for piece in pieces:
            if piece is not None and len(whole := _without_label_prefix(piece)) == VIN_LENGTH:
                add(whole, False)
    for start, (pieces, joinable) in enumerate(tokens):
        if not joinable or len(pieces[0] or '') >= VIN_LENGTH:
            continue
        joined = pieces[0] or ''
        for following, following_joinable in tokens[start + 1 : start + MAX_JOINED_TOKENS]:
            if not following_joinable:
                break
            joined += following[0] or ''
            if len(joined) >= VIN_LENGTH:
                if len(joined) == VIN_LENGTH:
                    add(joined, True)
                break
    return list(found.values())


def extract_candidates(lines: Iterable[str | tuple[str, float]], *, strict_year: bool = True) -> list[Candidate]:
    """Candidates of every line (plain strings, or (text, confidence) pairs), valid ones first, in reading order."""
    found: list[Candidate] = []
    seen: set[str] = set()
    for line in lines:
        text, confidence = (line, 1.0) if isinstance(line, str) else line
        for candidate in candidates_in_line(text, confidence=confidence, strict_year=strict_year):
            if candidate.vin not in seen:
                seen.add(candidate.vin)
                found.append(candidate)
    return sorted(found, key=lambda candidate: not candidate.check.valid)


def parse_typed_vin(text: str) -> VinCheck:
    """A VIN typed by an agent or a customer: spaces and dashes ignored, I/O/Q mapped, validated."""
    compact = ''.join(_SEPARATORS.split(text.strip()))
    normalized = normalize_token(compact.upper()) or compact.upper()
    return validate_vin(_without_label_prefix(normalized), strict_year=False)
