"""Photo → VIN, as one pure function over the image bytes (V1): barcodes, then OCR passes, cheapest first.

1. Barcodes (zxing-cpp: Code 39, Code 128, DataMatrix, QR): exact when present; many door-jamb labels have one.
2. OCR: downscale, grayscale, deskew, then passes from cheap to costly — a whole-page read, re-reads of the
   lines that look like a VIN (cropped, upscaled to ~40 px characters, thresholded on their own, which beats
   glare), the sparse-text mode, the opposite polarity (light-on-dark plates), a local threshold, and
   finally quarter turns. It stops as soon as the answer is settled.
3. Candidates (candidates.py), validation (validation.py), decoding (decoding.py).

Settled means: a North-American VIN whose check digit matches (verified), a barcode, or — for a VIN that no
check digit covers — two independent reads that agree. A single unconfirmed read is kept as a candidate
but not chosen: a misread European or South-American VIN would look exactly as valid as the real one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .candidates import Candidate, extract_candidates, normalize_token
from .decoding import decode_vehicle, known_maker
from .engines import OcrEngine, OcrLine, OcrTimeout, engine_named
from .imaging import (
    UnreadableImage,
    binarize,
    binarize_local,
    border_is_dark,
    estimate_skew,
    fit_long_side,
    is_light_on_dark,
    load_grayscale,
    otsu_threshold,
    pad,
    rotate,
)
from .validation import VIN_LENGTH, VinCheck, VinStatus, validate_vin

# Bumped whenever a change can alter results, so cached readings of older versions are recomputed.
PIPELINE_VERSION = 1
CROP_TEXT_HEIGHT = 40  # px; Tesseract's LSTM is at its best with characters of ~20-40 px
MAX_LINE_CROPS = 6
MAX_CANDIDATES_KEPT = 12


@dataclass
class _Tally:
    """Every 17-character string seen, with how many independent reads produced it."""

    votes: dict[str, int] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    from_barcode: set[str] = field(default_factory=set)

    def add(self, candidate: Candidate, source: str) -> None:
        vin = candidate.vin
        if source in self.sources.get(vin, []):
            return  # one read, one vote, even if it listed the string twice
        self.checks[vin] = candidate.check
        self.votes[vin] = self.votes.get(vin, 0) + (1 if candidate.check.valid else 0)
        self.sources.setdefault(vin, []).append(source)
        self.confidence[vin] = max(self.confidence.get(vin, 0.0), candidate.confidence)
        if source.startswith('barcode'):
            self.from_barcode.add(vin)

    def valid(self) -> list[str]:
        ranked = [vin for vin, check in self.checks.items() if check.valid]
        return sorted(ranked, key=lambda vin: (self.checks[vin].status != VinStatus.VERIFIED,
                                               vin not in self.from_barcode, -self.votes[vin],
                                               -self.confidence[vin]))

    def choice(self) -> tuple[str | None, str]:
        """(chosen VIN or None, why) — applies the rule in the module docstring."""
        ranked = self.valid()
        if not ranked:
            return None, 'no valid VIN'
        best = ranked[0]
        if best in self.from_barcode:
            return best, ''
        if self.checks[best].status == VinStatus.VERIFIED:
            # Two verified reads a few characters apart differ only by characters of equal check value
            # (J and 1 are both 1, S and 2 both 2…): the check digit cannot tell which one is right.
            if any(self.checks[other].status == VinStatus.VERIFIED and _differs_little(best, other)
                   for other in ranked[1:]):
                return None, 'conflicting verified reads'
            return best, ''
        if any(_differs_little(best, other) for other in ranked[1:]):
            return None, 'conflicting reads'
        if len(self.families(best)) < 2:
            return None, 'not confirmed by two different reads'
        return best, ''

    def families(self, vin: str) -> set[str]:
        """Kinds of read that produced `vin`: a page pass, or the re-reads of one line (one family, however
        many preparations of that crop agreed — they share the crop's distortions)."""
        return {source.split('-line')[0] + ('-line' if '-line' in source else '') for source in self.sources[vin]}

    @property
    def settled(self) -> bool:
        return self.choice()[0] is not None

    def report(self) -> list[dict[str, Any]]:
        """What is stored with the reading: valid candidates first, then rejected 17-character strings."""
        order = self.valid() + [vin for vin, check in self.checks.items() if not check.valid]
        return [{'vin': vin, 'status': str(self.checks[vin].status), 'reason': self.checks[vin].reason,
                 'votes': self.votes[vin], 'sources': self.sources[vin],
                 'north_american': self.checks[vin].north_american,
                 'check_digit_ok': self.checks[vin].check_digit_ok}
                for vin in order[:MAX_CANDIDATES_KEPT]]


@dataclass(frozen=True)
class VinResult:
    vin: str | None
    status: VinStatus
    source: str  # 'barcode', 'ocr' or '' — where the chosen VIN came from
    confidence: float
    candidates: list[dict[str, Any]]
    vehicle: dict[str, Any] | None
    timings: dict[str, float]
    seconds: float
    engine: str
    error: str = ''
    version: int = PIPELINE_VERSION
    text_lines: list[str] = field(default_factory=list)  # what the OCR read, for part codes (V2)

    def to_dict(self) -> dict[str, Any]:
        return {'vin': self.vin, 'status': str(self.status), 'source': self.source, 'confidence': self.confidence,
                'candidates': self.candidates, 'vehicle': self.vehicle, 'timings': self.timings,
                'seconds': self.seconds, 'engine': self.engine, 'error': self.error, 'version': self.version,
                'text_lines': self.text_lines}

    @classmethod
    def failed(cls, *, engine: str, error: str, seconds: float, timings: dict[str, float] | None = None
               ) -> VinResult:
        return cls(vin=None, status=VinStatus.NONE, source='', confidence=0.0, candidates=[], vehicle=None,
                   timings=timings or {}, seconds=seconds, engine=engine, error=error)


def _differs_little(first: str, second: str) -> bool:
    """Two valid reads a few characters apart are one VIN read two ways: which is right is unknown."""
    return sum(a != b for a, b in zip(first, second, strict=True)) <= 4


def _confidence(tally: _Tally, vin: str) -> float:
    """A plain, explainable scale: what backs the VIN, not a statistical probability."""
    check = tally.checks[vin]
    barcode = vin in tally.from_barcode
    if check.status == VinStatus.VERIFIED:
        return 0.99 if barcode else 0.95
    if barcode:
        return 0.9
    return min(0.85, 0.55 + 0.1 * tally.votes[vin])


# --- barcodes -------------------------------------------------------------------------------------------


def barcode_texts(image: Image.Image) -> list[str]:
    import zxingcpp

    formats = [zxingcpp.BarcodeFormat.Code39, zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.DataMatrix,
               zxingcpp.BarcodeFormat.QRCode]
    try:
        found = zxingcpp.read_barcodes(image, formats=formats)
    except TypeError:  # zxing-cpp 2.x takes a BarcodeFormats flag set instead of a list
        flags = formats[0]
        for extra in formats[1:]:
            flags |= extra
        found = zxingcpp.read_barcodes(image, formats=flags)
    return [result.text for result in found if result.text]


def barcode_candidates(text: str) -> list[Candidate]:
    """A barcode's content is exact: no I/O/Q mapping, no joining. US Code 39 VIN labels prefix an imported
    vehicle's VIN with 'I' (18 characters); other 2D codes hold several fields, so every field is tried."""
    fields = [part for part in text.replace('\x1d', ' ').replace('\x1e', ' ').split() if part]
    found = []
    for raw in fields or [text]:
        token = raw.strip().strip('*').upper()
        if len(token) == VIN_LENGTH + 1 and token.startswith('I'):
            token = token[1:]
        if len(token) == VIN_LENGTH:
            found.append(Candidate(validate_vin(token), joined=False, confidence=1.0))
    return found


# --- OCR passes ------------------------------------------------------------------------------------------


def _vin_like(line: OcrLine) -> bool:
    """A line worth re-reading on its own: a run of 12-24 VIN-ish characters mixing letters and digits."""
    tokens = [token for token in line.text.split() if normalize_token(token) is not None]
    compact = ''.join(tokens)  # counted before I/O→1/0, so "VOLKSWAGEN DO BRASIL" is no VIN-like line
    return (12 <= len(compact) <= 24 and sum(char.isdigit() for char in compact) >= 3
            and sum(char.isalpha() for char in compact) >= 2)


def _line_crop(image: Image.Image, box: tuple[int, int, int, int], *, threshold: bool = True,
               text_height: int = CROP_TEXT_HEIGHT) -> Image.Image:
    """The line alone, scaled to `text_height` px characters, dark on light, thresholded on its own (glare
    elsewhere in the photo does not move the threshold), with a margin."""
    left, top, right, bottom = box
    height = max(1, bottom - top)
    crop = image.crop((max(0, left - height), max(0, top - height // 4),
                       min(image.width, right + height), min(image.height, bottom + height // 4)))
    scale = text_height / height
    if abs(scale - 1) > 0.1:
        crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                           Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    if border_is_dark(crop):
        crop = ImageOps.invert(crop)
    return pad(binarize(crop) if threshold else crop, 12, fill=255 if threshold else int(np.max(crop)))


@dataclass
class _Run:
    content_engine: OcrEngine
    tally: _Tally
    deadline: float
    timings: dict[str, float]
    cropped: list[tuple[int, int, int, int]] = field(default_factory=list)
    words_seen: int = 0
    texts: list[str] = field(default_factory=list)
    vin_like_lines: int = 0

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 4)

    def take(self, lines: list[OcrLine], source: str) -> bool:
        """Count a read's candidates; True if it offered a valid one."""
        offered = False
        for found in extract_candidates([(line.text, line.confidence) for line in lines]):
            candidate = found
            if found.check.status == VinStatus.UNVERIFIED and not known_maker(found.vin):
                candidate = Candidate(VinCheck(candidate.vin, VinStatus.NONE, False, candidate.check.check_digit_ok,
                                               'unknown maker (WMI); not taken from OCR without a check digit'),
                                      candidate.joined, candidate.confidence)
            self.tally.add(candidate, source)
            offered = offered or candidate.check.valid
        return offered

    def page(self, name: str, image: Image.Image, mode: str, *, crops_from: Image.Image, scale: float) -> None:
        """Read a whole page, then re-read its VIN-like lines from the sharper `crops_from` image."""
        with self.timed(name):
            lines = self.content_engine.read_page(image, mode=mode, seconds_left=self.left())
        self.take(lines, name)
        self.texts.extend(line.text for line in lines if line.text and line.text not in self.texts)
        self.words_seen += sum(len(line.text.split()) for line in lines)
        if self.tally.settled:
            return
        vin_like = [line for line in lines if _vin_like(line)]
        self.vin_like_lines += len(vin_like)
        self.lines(name, vin_like, crops_from, scale)

    def lines(self, name: str, lines: list[OcrLine], image: Image.Image, scale: float) -> None:
        def overlaps_done(box: tuple[int, int, int, int]) -> bool:
            return any(min(box[3], done[3]) - max(box[1], done[1]) > 0.6 * (box[3] - box[1])
                       and min(box[2], done[2]) - max(box[0], done[0]) > 0.6 * (box[2] - box[0])
                       for done in self.cropped)

        ranked = sorted(lines, key=lambda line: abs(np.log(max(1, line.box[2] - line.box[0])
                                                           / max(1, line.box[3] - line.box[1]) / 11)))
        for line in ranked[:MAX_LINE_CROPS]:
            box = tuple(round(value / scale) for value in line.box)
            if box[3] - box[1] < 4 or box[2] - box[0] < 20 or overlaps_done(box):  # type: ignore[arg-type]
                continue
            self.cropped.append(box)  # type: ignore[arg-type]
            source = f'{name}-line{len(self.cropped)}'
            # Two different preparations of the same line: thresholded at 40 px, then plain gray at 32 px.
            # Their errors differ enough that agreement confirms a VIN no check digit covers.
            for variant, (threshold, height) in enumerate(((True, CROP_TEXT_HEIGHT), (False, 32))):
                with self.timed(f'{name}-lines'):
                    crop = _line_crop(image, box, threshold=threshold, text_height=height)  # type: ignore[arg-type]
                    read = self.content_engine.read_line(crop, seconds_left=self.left(), whitelist=variant == 1)
                offered = self.take(read, f'{source}{"ab"[variant]}')
                if self.tally.settled or not offered:
                    break
            if self.tally.settled:
                return


def _scaled(image: Image.Image, longest: int) -> tuple[Image.Image, float]:
    resized = fit_long_side(image, longest=longest)
    return resized, resized.width / image.width


def _ocr_passes(run: _Run, gray: Image.Image) -> Iterator[Callable[[], None]]:
    """The OCR plan, cheapest first; each step runs only while the answer is not settled."""
    work = fit_long_side(gray, longest=1600, upscale_below=1000)
    holder: dict[str, Image.Image] = {}

    def deskew() -> None:
        with run.timed('deskew'):
            holder['upright'] = rotate(work, estimate_skew(work))
    yield deskew

    def upright() -> Image.Image:
        return holder['upright']

    def dark_on_light(image: Image.Image, *, flip: bool = False) -> Image.Image:
        light_text = is_light_on_dark(image)
        return ImageOps.invert(image) if light_text != flip else image

    if run.content_engine.name == 'rapidocr':
        # Detection finds the text boxes; only VIN-like boxes (by shape) are recognised, best first.
        def rapid_boxes() -> None:
            page, scale = _scaled(upright(), 1280)
            with run.timed('detect'):
                boxes = run.content_engine.read_page(page, mode='boxes', seconds_left=run.left())
            run.lines('rapid', [box for box in boxes if (box.box[2] - box.box[0]) >= 4 * (box.box[3] - box.box[1])],
                      upright(), scale)
        yield rapid_boxes

        def rapid_full() -> None:
            page, _ = _scaled(upright(), 1280)
            with run.timed('rapid-full'):
                lines = run.content_engine.read_page(page, mode='full', seconds_left=run.left())
            run.take(lines, 'rapid-full')
            run.texts.extend(line.text for line in lines if line.text)
        yield rapid_full
        return

    def block() -> None:
        page, scale = _scaled(dark_on_light(upright()), 1200)
        run.page('block', page, 'block', crops_from=upright(), scale=scale)
    yield block

    def sparse() -> None:
        page, scale = _scaled(dark_on_light(upright()), 1200)
        run.page('sparse', page, 'sparse', crops_from=upright(), scale=scale)
    yield sparse

    def inverted() -> None:
        if run.vin_like_lines:
            return  # the text was found the right way round; only its reading was in doubt
        page, scale = _scaled(dark_on_light(upright(), flip=True), 1200)
        run.page('inverted', page, 'sparse', crops_from=upright(), scale=scale)
    yield inverted

    def local_threshold() -> None:
        page, scale = _scaled(dark_on_light(upright()), 1200)
        run.page('local', binarize_local(page), 'sparse', crops_from=upright(), scale=scale)
    yield local_threshold

    for turn in (90, 270):
        def quarter_turn(turn: int = turn) -> None:
            if run.words_seen >= 8:
                return  # plenty of horizontal text: the photo is not sideways
            turned = upright().rotate(turn, expand=True)
            page, scale = _scaled(dark_on_light(turned), 1200)
            run.page(f'turn{turn}', page, 'sparse', crops_from=turned, scale=scale)
        yield quarter_turn


def read_vin(content: bytes, *, engine: str = 'tesseract', time_budget: float = 15.0, barcodes: bool = True
             ) -> VinResult:
    """The VIN in a photo, or why there is none. Pure: same bytes and engine, same answer (cacheable by sha256)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def elapsed() -> float:
        return round(time.perf_counter() - started, 4)

    try:
        gray = load_grayscale(content)
    except UnreadableImage as exc:
        return VinResult.failed(engine=engine, error=str(exc), seconds=elapsed())
    timings['load'] = elapsed()
    tally = _Tally()
    if barcodes:
        with _timed(timings, 'barcode'):
            for text in barcode_texts(fit_long_side(gray, longest=2400)):
                for candidate in barcode_candidates(text):
                    tally.add(candidate, 'barcode')
    error = ''
    run = None
    if not tally.settled:
        run = _Run(content_engine=engine_named(engine), tally=tally, deadline=started + time_budget, timings=timings)
        try:
            for step in _ocr_passes(run, gray):
                step()
                if tally.settled:
                    break
                if run.left() <= 0.05:
                    raise OcrTimeout('time budget used up')
        except OcrTimeout:
            error = 'timeout'
    vin, _why = tally.choice()
    vehicle = decode_vehicle(vin) if vin else None
    return VinResult(
        vin=vin, status=tally.checks[vin].status if vin else VinStatus.NONE,
        source=('barcode' if vin in tally.from_barcode else 'ocr') if vin else '',
        confidence=_confidence(tally, vin) if vin else 0.0, candidates=tally.report(),
        vehicle=vehicle.to_dict() if vehicle else None, timings=timings, seconds=elapsed(), engine=engine,
        error=error, text_lines=run.texts if run else [])


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - started, 4)


__all__ = ['PIPELINE_VERSION', 'VinResult', 'barcode_candidates', 'otsu_threshold', 'read_vin']
