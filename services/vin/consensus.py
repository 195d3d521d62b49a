"""Which VIN, if any, the reads of one photo support — the rule that keeps wrong VINs out (V1).

Every OCR read of a 17-character string is one `Reading`: its characters, the raw characters before the
I→1, O→0, Q→0 mapping, and the engine's confidence in each character when it gives one. Reads of one
physical VIN (within a few characters of each other) are grouped, and each position gets its
*alternatives*:

- every character some read saw there (a disagreement between reads);
- for a raw I, O or Q (only ever a look-alike, never a VIN character): both VIN characters it can stand
  for (I: 1 or J; O: 0 or D; Q: 0) — a raw "I" says "a vertical stroke", not "a 1";
- when no read was sure of its character (confidence below `DOUBT_CONFIDENCE` in every read that saw it):
  its look-alikes (`LOOKALIKES`), because a forced choice between J and 1 is a guess.

Every combination of alternatives is validated (structure, year code, serial digits, check digit for North
America, a known maker otherwise). The group is settled only when exactly one combination is a valid VIN:

- verified (North-American check digit) → taken when at least `MIN_AGREEING_VERIFIED` reads saw exactly it
  (one read and a check digit is a 1-in-11 chance away from a wrong VIN), each of its characters was read there
  (the check digit *chooses* between characters the reads saw; it never supplies one: that would be the
  "repair" that manufactures wrong VINs) and at most `MAX_RESOLVED_BY_CHECK_DIGIT` positions were in doubt.
  J and 1 (also A), S and 2, or any characters of equal check value stay ambiguous: both combinations pass.
- no check digit applies → taken only when no position is in doubt between two characters that both give a
  valid VIN, and at least `MIN_AGREEING_READS` reads from `MIN_AGREEING_KINDS` different kinds of read agree at
  every position; then it is *verified* too (independent recognizers agree, issue 17). A VIN only one
  recognizer backs (a barcode alone, the detector alone: `_detected_only`) stays *unverified* ("sin verificar")
  and the customer is asked to confirm it. A kind is a *recognizer* (`LINE_KIND`, `CHARS_KIND`, `SECOND_LINE_KIND`,
  `SECOND_CHARS_KIND`), not a preparation: gray and Otsu crops read by one network share its context errors.

Character-by-character reads that contradict each other at a position (`_split_characters`) are no vote
there; the line reads decide, under the same rules. Nothing else is outvoted: any other disagreement between
two valid VINs refuses the photo.

The VIN standard's position rules (ISO 3779 / 49 CFR 565: no I/O/Q, a year code at position 10, numeric
serial at the end, the check digit) are used only to *reject* combinations, never to invent a character.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .decoding import known_maker
from .validation import VIN_LENGTH, VinCheck, VinStatus, check_digit, validate_vin

DOUBT_CONFIDENCE = 0.6
# A character read alone (kind 'chars') with less confidence than this is the engine's guess, not an
# observation: no vote, neither for its character nor against the others. Tesseract gives 0.1–0.3 to a lone
# glyph it cannot tell; its real misreads come at 0.8–0.99, and those still count as disagreement. (In a
# line read a low confidence is kept: there it is the doubt that brings the look-alikes in.)
MIN_VOTE_CONFIDENCE = 0.5
# The kinds of OCR read, one per *recognizer*: the first OCR's whole-line reads and its character-by-character
# reads, and the same two of the second recognizer (engines.second_recognizer). Several preparations of a
# crop (gray, Otsu, sizes, alphabets) read by one recognizer are one kind: they share its errors — measured,
# all five English line reads of a crop agreed on "WBALSSYG…" where the label says "WBALS5YG…".
LINE_KIND = 'line'
CHARS_KIND = 'chars'
SECOND_LINE_KIND = 'second-line'
SECOND_CHARS_KIND = 'second-chars'
# RapidOCR's detector and recognizer over the whole photo (pipeline version 4): a third network, trained apart.
DETECT_KIND = 'detect'
GUESSING_KINDS = frozenset({CHARS_KIND, SECOND_CHARS_KIND})
MAX_RESOLVED_BY_CHECK_DIGIT = 2
MIN_AGREEING_READS = 3
MIN_AGREEING_VERIFIED = 2
MIN_AGREEING_KINDS = 2
MAX_COMBINATIONS = 512
SAME_VIN_DISTANCE = 5  # two 17-character reads this close are one VIN read two ways
UNREAD = '?'  # a position a character-by-character read could not read: no opinion
MAX_CANDIDATES_KEPT = 12

# Raw OCR letters that are never in a VIN, and the VIN characters they can stand for.
_RAW_MEANINGS = {'I': frozenset('1J'), 'O': frozenset('0D'), 'Q': frozenset('0')}
# Characters commonly drawn alike in label fonts and confused by OCR (symmetric); only used to doubt.
_LOOKALIKE_PAIRS = (
    '1J',
    '1L',
    '1T',
    'J7',
    '5S',
    '8B',
    '2Z',
    '6G',
    '0D',
    '8S',
    '3B',
    'B6',
    '4A',
    'UV',
    'MN',
    'HN',
    'KX',
    'EF',
    'PR',
    'CG',
    '0U',
    '0C',
    '7Z',
    'Y7',
    'VY',
)
LOOKALIKES: dict[str, frozenset[str]] = {}
for _first, _second in map(tuple, _LOOKALIKE_PAIRS):
    LOOKALIKES[_first] = LOOKALIKES.get(_first, frozenset()) | {_second}
    LOOKALIKES[_second] = LOOKALIKES.get(_second, frozenset()) | {_first}


@dataclass(frozen=True)
class Reading:
    """One read of one 17-character string."""

    text: str  # after I→1, O→0, Q→0
    source: str  # e.g. 'page-otsu', 'line1-gray32', 'barcode'
    kind: str  # the recognizer ('line', 'chars', 'second-line', …, 'page', 'barcode'): agreement must span kinds
    raw: str = ''  # the 17 characters as the engine gave them ('' when the same as text)
    confidences: tuple[float, ...] = ()  # one per character, 0..1; () when the engine gives none
    crop: str = ''  # the line crop it was read from ('line1', …); '' for page reads and barcodes

    @property
    def from_barcode(self) -> bool:
        return self.kind == 'barcode'


@dataclass(frozen=True)
class Decision:
    vin: str | None
    check: VinCheck | None
    source: str  # 'barcode', 'ocr' or ''
    reason: str  # why nothing was chosen ('' when a VIN was)
    confidence: float
    candidates: list[dict[str, Any]] = field(default_factory=list)


def ocr_check(vin: str) -> VinCheck:
    """`validate_vin` plus the OCR-only rule: a VIN no check digit covers needs a WMI that names a maker
    (an unassigned WMI is most often a misread first character: 5→S, 8→S, 9→S)."""
    check = validate_vin(vin)
    if check.status == VinStatus.UNVERIFIED and not known_maker(vin):
        return VinCheck(
            vin,
            VinStatus.NONE,
            False,
            check.check_digit_ok,
            'unknown maker (WMI); not taken from OCR without a check digit',
        )
    return check


def _guess(reading: Reading, index: int) -> bool:
    return (
        reading.kind in GUESSING_KINDS
        and bool(reading.confidences)
        and reading.confidences[index] < MIN_VOTE_CONFIDENCE
    )


def _distance(first: str, second: str) -> int:
    return sum(a != b and UNREAD not in (a, b) for a, b in zip(first, second, strict=True))


def _clusters(readings: Sequence[Reading]) -> list[list[Reading]]:
    """Reads grouped by the VIN they are reads of; the most frequent strings found the groups."""
    counts = Counter(reading.text for reading in readings)
    ordered = sorted(readings, key=lambda reading: (-counts[reading.text], reading.text))
    clusters: list[list[Reading]] = []
    for reading in ordered:
        for cluster in clusters:
            if _distance(cluster[0].text, reading.text) <= SAME_VIN_DISTANCE:
                cluster.append(reading)
                break
        else:
            clusters.append([reading])
    return clusters


@dataclass
class _Position:
    seen: Counter[str] = field(default_factory=Counter)  # characters read as themselves
    meanings: set[str] = field(default_factory=set)  # what raw I/O/Q read here can stand for
    best_confidence: dict[str, float] = field(default_factory=dict)
    confidence_known: bool = False

    def alternatives(self) -> tuple[set[str], bool]:
        """(characters this position may be, whether it is in doubt beyond plain disagreement)."""
        options = set(self.seen)
        if not options:
            return set(self.meanings), len(self.meanings) > 1
        if self.meanings and not (self.meanings & options):
            options |= self.meanings  # a raw I where others read 7: both stay possible
        doubtful = False
        if self.confidence_known:
            winner = self.seen.most_common(1)[0][0]
            if self.best_confidence.get(winner, 1.0) < DOUBT_CONFIDENCE:
                options |= LOOKALIKES.get(winner, frozenset())
                doubtful = True
        return options, doubtful


# Kinds of read that may confirm but not contradict (none at present: the character-by-character reads vote,
# since they are what catches the line reads' context errors).
CONFIRM_ONLY_KINDS: frozenset[str] = frozenset()


def _stands_for(reading: Reading, index: int) -> frozenset[str]:
    """The VIN characters a read's character at `index` can be: itself, or what a raw I/O/Q stands for."""
    return _RAW_MEANINGS.get((reading.raw or reading.text)[index], frozenset(reading.text[index]))


def _split_characters(cluster: Sequence[Reading]) -> set[tuple[int, int]]:
    """(reading, position) pairs of character-by-character reads that are no vote, because the lone-glyph
    reads of the same crop contradict each other there:

    - the reads of one recognizer (its two preparations) disagree: a lone glyph misread in one preparation
      is an error of that kind of read, not a doubt about the VIN;
    - the two recognizers' lone-glyph reads disagree (English reads a bold X alone as 4, Spanish as X):
      neither is an observation the line reads must yield to.

    At such a position the line reads decide — and they must still agree, of two recognizers for a VIN
    without check digit (a context error of one line recognizer is not enough). Lone-glyph reads of
    *different crops* are never silenced by each other: two crops disagreeing is a real doubt."""
    groups: dict[tuple[str, str], list[tuple[int, Reading]]] = {}
    for number, reading in enumerate(cluster):
        if reading.kind in GUESSING_KINDS:
            groups.setdefault((reading.crop, reading.kind), []).append((number, reading))
    silenced: set[tuple[int, int]] = set()
    for index in range(VIN_LENGTH):
        opinions: dict[str, list[tuple[list[tuple[int, Reading]], frozenset[str]]]] = {}
        for (crop, _), reads in groups.items():
            options = [
                _stands_for(reading, index)
                for _, reading in reads
                if reading.text[index] != UNREAD and not _guess(reading, index)
            ]
            if not options:
                continue
            common = frozenset.intersection(*options)
            if common:
                opinions.setdefault(crop, []).append((reads, common))
            else:
                silenced.update((number, index) for number, _ in reads)
        for crop_opinions in opinions.values():
            if len(crop_opinions) > 1 and not frozenset.intersection(*(common for _, common in crop_opinions)):
                silenced.update((number, index) for reads, _ in crop_opinions for number, _ in reads)
    return silenced


def _positions(cluster: Sequence[Reading]) -> list[_Position]:
    positions = [_Position() for _ in range(VIN_LENGTH)]
    silenced = _split_characters(cluster)
    for number, reading in enumerate(cluster):
        if reading.kind in CONFIRM_ONLY_KINDS:
            continue
        raw = reading.raw or reading.text
        for index, (char, raw_char) in enumerate(zip(reading.text, raw, strict=True)):
            position = positions[index]
            if char == UNREAD or _guess(reading, index) or (number, index) in silenced:
                continue
            if raw_char in _RAW_MEANINGS:
                position.meanings |= _RAW_MEANINGS[raw_char]
                continue
            position.seen[char] += 1
            if reading.confidences:
                position.confidence_known = True
                confidence = reading.confidences[index]
                position.best_confidence[char] = max(position.best_confidence.get(char, 0.0), confidence)
    return positions


@dataclass(frozen=True)
class _Verdict:
    vin: str | None
    check: VinCheck | None
    reason: str
    agreeing: int = 0


def _valid_combinations(positions: Sequence[_Position]) -> tuple[list[VinCheck], list[int], str]:
    """(every valid VIN the alternatives allow, the positions in doubt, why none when it cannot be said)."""
    options: list[list[str]] = []
    in_doubt: list[int] = []
    for index, position in enumerate(positions):
        alternatives, _ = position.alternatives()
        if not alternatives:
            return [], [], f'position {index + 1} unread'
        options.append(sorted(alternatives))
        if len(alternatives) > 1:
            in_doubt.append(index)
    combinations = 1
    for choices in options:
        combinations *= len(choices)
    if combinations > MAX_COMBINATIONS:
        return [], in_doubt, f'too uncertain ({len(in_doubt)} positions in doubt)'
    valid = [
        check
        for check in (ocr_check(''.join(combination)) for combination in itertools.product(*options))
        if check.valid
    ]
    return valid, in_doubt, '' if valid else 'no valid VIN'


def _foreign_only_by_first_letter(vin: str, valid: Sequence[VinCheck]) -> bool:
    """Whether every valid reading other than the North-American `vin` is foreign because its position 1
    holds a letter drawn like `vin`'s digit (S for 5, L for 1). A rival with another first character (8
    against 3: a clipped glyph, not a look-alike letter) is a real doubt the check digit must not settle."""
    if vin[0] not in '12345':
        return False
    return all(
        check.vin[0].isalpha() and check.vin[0] in LOOKALIKES.get(vin[0], frozenset())
        for check in valid
        if check.vin != vin
    )


def _judge(cluster: Sequence[Reading], confirming_kind: str | None) -> _Verdict:
    positions = _positions(cluster)
    valid, in_doubt, why = _valid_combinations(positions)
    if why:
        return _Verdict(None, None, why)
    verified = [check for check in valid if check.status == VinStatus.VERIFIED]
    if len(valid) > 1 and len(verified) == 1 and _foreign_only_by_first_letter(verified[0].vin, valid):
        # Exactly one reading is a North-American VIN whose (mandatory) check digit passes; the others are
        # foreign only because position 1 was read as a look-alike letter (S for 5, L for 1): the check
        # digit confirms the one (a misread passes it 1 time in 11).
        valid = verified
    if len(valid) > 1:
        where = ', '.join(str(index + 1) for index in in_doubt)
        return _Verdict(None, None, f'{len(valid)} valid VINs fit the reads (positions {where} in doubt)')
    check = valid[0]
    vin = check.vin
    # The chosen characters must have been read (as themselves or as a raw look-alike): a look-alike added
    # only out of doubt may reject a reading, never supply a character.
    for index in in_doubt:
        position = positions[index]
        if vin[index] not in position.seen and vin[index] not in position.meanings:
            return _Verdict(None, None, f'position {index + 1} would need a character no read saw')
    support, kinds, confirmed = _support(cluster, vin, confirming_kind)
    if check.status == VinStatus.VERIFIED:
        if len(in_doubt) > MAX_RESOLVED_BY_CHECK_DIGIT:
            return _Verdict(None, None, f'{len(in_doubt)} positions in doubt: too many for one check digit')
        if support < MIN_AGREEING_VERIFIED:
            return _Verdict(None, None, 'verified by one read only')
        return _Verdict(vin, check, '', support)
    if support < MIN_AGREEING_READS or kinds < MIN_AGREEING_KINDS:
        return _Verdict(None, None, f'not confirmed: {support} agreeing reads of {kinds} kinds')
    if not confirmed:
        return _Verdict(None, None, f'not confirmed by a {confirming_kind} read at every position')
    for index in in_doubt:
        seen = positions[index].seen
        if seen and seen.most_common(1)[0][0] != vin[index]:
            return _Verdict(None, None, f'position {index + 1}: most reads saw another character')
    # Independent recognizers read it alike (issue 17's rule): verified, though no check digit applies to it.
    return _Verdict(vin, replace(check, status=VinStatus.VERIFIED), '', support)


def _support(cluster: Sequence[Reading], vin: str, confirming_kind: str | None) -> tuple[int, int, bool]:
    """(reads, kinds of read) that agree with `vin`, counted per character: the fewest over the 17 positions;
    and whether a read of `confirming_kind` agrees at every position. A read agrees at a position when it
    saw that character there, or a raw look-alike that stands for it."""
    fewest_reads, fewest_kinds = len(cluster), len(cluster)
    confirmed = True
    silenced = _split_characters(cluster)
    for index, char in enumerate(vin):
        agreeing = [
            reading
            for number, reading in enumerate(cluster)
            if (
                reading.text[index] == char
                or char in _RAW_MEANINGS.get((reading.raw or reading.text)[index], frozenset())
            )
            and not _guess(reading, index)
            and (number, index) not in silenced
        ]
        fewest_reads = min(fewest_reads, len(agreeing))
        kinds = {reading.kind for reading in agreeing}
        fewest_kinds = min(fewest_kinds, len(kinds))
        confirmed = confirmed and (confirming_kind is None or confirming_kind in kinds)
    return fewest_reads, fewest_kinds, confirmed


def _confidence(check: VinCheck, *, barcode: bool, agreeing: int) -> float:
    """A plain, explainable scale: what backs the VIN, not a statistical probability."""
    if check.status == VinStatus.VERIFIED:
        return 0.99 if barcode else 0.95
    if barcode:
        return 0.9
    return min(0.85, 0.55 + 0.05 * agreeing)


def decide(readings: Iterable[Reading], *, confirming_kind: str | None = None) -> Decision:
    """The VIN the readings support, or None and why. `confirming_kind`: a kind of read that must agree at
    every position of a VIN no check digit covers (the pipeline's character-by-character reads)."""
    readings = list(readings)
    report = _report(readings)
    barcode_vins = {reading.text: validate_vin(reading.text) for reading in readings if reading.from_barcode}
    valid_barcodes = sorted(
        (check for check in barcode_vins.values() if check.valid), key=lambda check: check.status != VinStatus.VERIFIED
    )
    if valid_barcodes:
        best = valid_barcodes[0]
        rivals = [check for check in valid_barcodes[1:] if check.vin != best.vin and check.status == best.status]
        if not rivals:
            return Decision(best.vin, best, 'barcode', '', _confidence(best, barcode=True, agreeing=1), report)
    # Page reads only locate the text: at their lower resolution they misread more, and the line reads of
    # the same words are what is voted on.
    ocr = [reading for reading in readings if reading.kind not in {'barcode', 'page'}]
    verdicts = [_judge(cluster, confirming_kind) for cluster in _clusters(ocr)]
    chosen = [verdict for verdict in verdicts if verdict.vin]
    if not chosen:
        # With the page reads as votes too, only a North-American VIN can be taken: its check digit, not the
        # number of reads, is what stands behind it (a page read alone still never settles: two reads needed).
        everything = [reading for reading in readings if reading.kind != 'barcode']
        chosen = [
            verdict
            for verdict in (_judge(cluster, confirming_kind) for cluster in _clusters(everything))
            # North-American only: page reads are one network's, and only a check digit may back them (the
            # agreement of kinds that makes other VINs verified does not count page reads as a kind).
            if verdict.vin
            and verdict.check is not None
            and verdict.check.north_american
            and verdict.check.status == VinStatus.VERIFIED
        ]
    # The detector's own verdicts: a VIN only it backs, or a rival to what the other recognizers settled.
    chosen = chosen + _detected_only(readings)
    if len({verdict.vin for verdict in chosen}) > 1:
        return Decision(None, None, '', 'several different VINs read', 0.0, report)
    if chosen:
        verdict = chosen[0]
        assert verdict.check is not None
        return Decision(
            verdict.vin,
            verdict.check,
            'ocr',
            '',
            _confidence(verdict.check, barcode=False, agreeing=verdict.agreeing),
            report,
        )
    reasons = [verdict.reason for verdict in verdicts if verdict.reason != 'no valid VIN']
    return Decision(None, None, '', reasons[0] if reasons else 'no valid VIN', 0.0, report)


def _detected_only(readings: Sequence[Reading]) -> list[_Verdict]:
    """A VIN outside North America that only the detector's reads back (pipeline version 4, issue 17): stamped
    metal and windshield plates, where Tesseract reads nothing usable. Taken *unverified* — the customer is asked
    to confirm it — and only when at least two of the detector's reads saw exactly the same 17 characters and its
    check digit passes (optional outside North America, but most makers fill it in: a misread passes it 1 time in
    11). Any reading of another valid VIN at that place (by the detector or any other recognizer) refuses it."""
    verdicts = []
    for cluster in _clusters([reading for reading in readings if reading.kind == DETECT_KIND]):
        texts = Counter(reading.text for reading in cluster)
        if len(texts) != 1:
            continue  # the detector's own reads disagree
        vin, reads = texts.most_common(1)[0]
        check = ocr_check(vin)
        rivals = [
            reading
            for reading in readings
            if reading.kind != DETECT_KIND
            and reading.text != vin
            and _distance(reading.text, vin) <= SAME_VIN_DISTANCE
            and validate_vin(reading.text).valid
        ]
        if rivals:
            continue  # another recognizer read another valid VIN there: a real doubt
        if reads >= MIN_AGREEING_VERIFIED and check.status == VinStatus.UNVERIFIED and check_digit(vin) == vin[8]:
            verdicts.append(_Verdict(vin, check, '', reads))
    return verdicts


def _report(readings: Sequence[Reading]) -> list[dict[str, Any]]:
    """What is stored with the reading: valid candidates first (most read first), then rejected strings."""
    by_vin: dict[str, list[Reading]] = {}
    for reading in readings:
        if UNREAD not in reading.text:
            by_vin.setdefault(reading.text, []).append(reading)
    checks = {
        vin: (validate_vin(vin) if any(r.from_barcode for r in group) else ocr_check(vin))
        for vin, group in by_vin.items()
    }
    order = sorted(
        by_vin, key=lambda vin: (not checks[vin].valid, checks[vin].status != VinStatus.VERIFIED, -len(by_vin[vin]))
    )
    return [
        {
            'vin': vin,
            'status': str(checks[vin].status),
            'reason': checks[vin].reason,
            'votes': len(by_vin[vin]),
            'sources': sorted({reading.source for reading in by_vin[vin]}),
            'north_american': checks[vin].north_american,
            'check_digit_ok': checks[vin].check_digit_ok,
        }
        for vin in order[:MAX_CANDIDATES_KEPT]
    ]
