"""Photo → VIN, as one pure function over the image bytes (V1): barcodes, then OCR, cheapest first.

1. Barcodes (zxing-cpp: Code 39, Code 128, DataMatrix, QR): exact when present; many door-jamb labels have
   one. Tried on the photo as sent, then — if none was read — on the deskewed photo made dark-on-light
   with a fixed threshold (a tilted 1-D code has no straight scan line across all its bars; zxing's own
   inversion misses light bars on a dark plate; its local threshold splits blurred bars).
2. OCR (Tesseract in process, tesseract_api.py): downscale, grayscale, deskew; a page read *locates* the
   text (word boxes); every VIN-like word run is cropped from the sharper image, narrowed to its main row
   of text, widened so that no character is cut in two (crop_columns), scaled to 44–60 px characters and
   read again as one raw line (psm 13) in several preparations (gray or thresholded on its own, VIN
   alphabet with or without I/O/Q), and also cut into its 17 characters, each read alone — without
   neighbours the LSTM's context cannot turn "W57" into "WS7". A crop those reads do not settle is read by
   a second recognizer (Tesseract's Spanish model, engines.second_recognizer), one read at a time until
   settled: another network, with errors of its own. Further page reads (a plain-gray block read, a local
   threshold for glare, the opposite polarity, quarter turns) run only while the answer is not settled.
   The plan is fixed (no decision depends on the clock), so the same bytes give the same answer whatever
   the machine's load; only the time limit can cut it short.
3. Each 17-character string read becomes a `Reading`; consensus.py decides what, if anything, is settled.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from PIL import Image, ImageOps

from .candidates import candidates_in_line, normalize_token
from .consensus import (
    CHARS_KIND,
    DETECT_KIND,
    LINE_KIND,
    SECOND_CHARS_KIND,
    SECOND_LINE_KIND,
    UNREAD,
    Decision,
    Reading,
    decide,
)
from .decoding import decode_vehicle
from .engines import (
    OcrEngine,
    OcrLine,
    OcrTimeout,
    RapidOcrEngine,
    engine_named,
    rapidocr_available,
    second_recognizer,
)
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
from .validation import VIN_LENGTH, VinStatus, validate_vin

# Bumped whenever a change can alter results, so cached readings of older versions are recomputed.
PIPELINE_VERSION = 4  # 4: RapidOCR's detector over the whole photo (issue 17)
WORK_SIZE = 1600  # px, long side of the image the line crops come from
PAGE_SIZE = 1200  # px, long side of the page reads (they only need to find the text)
DETECT_SIZE = 1280  # px, long side of the image RapidOCR's detector reads first (its own limit: 960)
STAR_MARKS = 'XKI*'  # how OCR reads the stars that frame a stamped VIN
# Line preparations: (threshold, character height in px, alphabet). Reads at different sizes, thresholds and
# alphabets err differently, which is what makes their agreement worth something (see engines.ALPHABETS).
# Chosen by measured accuracy on the VIN crops of the synthetic set (exact reads, VIN alphabet: gray 60 px
# 99 %, gray 52 px 98 %, Otsu 44 px 97 %; 24–36 px reads 75–94 % only added disagreements).
LINE_PREPARATIONS: tuple[tuple[str, int, str], ...] = (
    ('gray', 60, 'vin'),
    ('gray', 52, 'vin'),
    ('otsu', 44, 'vin'),
    ('gray', 60, 'vin+ioq'),
    ('otsu', 44, 'vin+ioq'),
)
# The prepared crops that are also cut into characters and read one by one (see read_characters).
CHARACTER_PREPARATIONS = (('gray', 60), ('otsu', 44))
MAX_CROPS_PER_PAGE = 3
# The second recognizer's reads of a crop the first did not settle, in this order, until settled (see
# read_crop and engines.second_recognizer).
SECOND_LINE_PREPARATIONS: tuple[tuple[str, int, str], ...] = (
    ('gray', 60, 'vin'),
    ('otsu', 44, 'vin'),
    ('gray', 60, 'vin+ioq'),
)
SECOND_CHARACTER_PREPARATIONS = (('gray', 60), ('otsu', 44))
BARCODE_SIZE = 2400


@dataclass(frozen=True)
class VinResult:
    vin: str | None
    status: VinStatus
    source: str  # 'barcode', 'ocr' or '' — where the chosen VIN came from
    confidence: float
    candidates: list[dict[str, Any]]
    vehicle: dict[str, Any] | None
    timings: dict[str, float]  # seconds per step; 'cpu' is the CPU time of the whole reading
    seconds: float
    engine: str
    error: str = ''
    version: int = PIPELINE_VERSION
    text_lines: list[str] = field(default_factory=list)  # what the OCR read, for part codes (V2)
    reason: str = ''  # why no VIN was chosen (not stored; for logs, the CLI and the bench)

    def to_dict(self) -> dict[str, Any]:
        return {
            'vin': self.vin,
            'status': str(self.status),
            'source': self.source,
            'confidence': self.confidence,
            'candidates': self.candidates,
            'vehicle': self.vehicle,
            'timings': self.timings,
            'seconds': self.seconds,
            'engine': self.engine,
            'error': self.error,
            'version': self.version,
            'text_lines': self.text_lines,
            'reason': self.reason,
        }

    @classmethod
    def failed(cls, *, engine: str, error: str, seconds: float, timings: dict[str, float] | None = None) -> VinResult:
        return cls(
            vin=None,
            status=VinStatus.NONE,
            source='',
            confidence=0.0,
            candidates=[],
            vehicle=None,
            timings=timings or {},
            seconds=seconds,
            engine=engine,
            error=error,
        )


def cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (the `tesseract` command in the fallback):
    robust to the machine's load, unlike wall time."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


# --- barcodes -------------------------------------------------------------------------------------------


def barcode_texts(image: Image.Image, *, binarizer: str | None = None) -> list[str]:
    import zxingcpp

    formats = [
        zxingcpp.BarcodeFormat.Code39,
        zxingcpp.BarcodeFormat.Code128,
        zxingcpp.BarcodeFormat.DataMatrix,
        zxingcpp.BarcodeFormat.QRCode,
    ]
    options: dict[str, Any] = {}
    if binarizer is not None:
        options['binarizer'] = getattr(zxingcpp.Binarizer, binarizer)
    try:
        # zxing-cpp 3 converts the list to BarcodeFormats itself; its stub declares only BarcodeFormats.
        found = zxingcpp.read_barcodes(image, formats=cast(zxingcpp.BarcodeFormats, formats), **options)
    except TypeError:  # zxing-cpp 2.x takes a BarcodeFormats flag set instead of a list
        flags = formats[0] | formats[1]
        for extra in formats[2:]:
            flags |= extra
        found = zxingcpp.read_barcodes(image, formats=flags, **options)
    return [result.text for result in found if result.text]


def barcode_candidates(text: str) -> list[Reading]:
    """A barcode's content is exact: no I/O/Q mapping, no joining. US Code 39 VIN labels prefix an imported
    vehicle's VIN with 'I' (18 characters); other 2D codes hold several fields, so every field is tried."""
    fields = [part for part in text.replace('\x1d', ' ').replace('\x1e', ' ').split() if part]
    found = []
    for raw in fields or [text]:
        token = raw.strip().strip('*').upper()
        if len(token) == VIN_LENGTH + 1 and token.startswith('I'):
            token = token[1:]
        if len(token) == VIN_LENGTH:
            found.append(Reading(token, 'barcode', 'barcode'))
    return found


def _barcode_readings(images: list[tuple[Image.Image, str | None]]) -> list[Reading]:
    readings = []
    for image, binarizer in images:
        for text in barcode_texts(image, binarizer=binarizer):
            readings.extend(barcode_candidates(text))
        if any(validate_vin(reading.text).valid for reading in readings):
            break
    return readings


# --- from OCR lines to readings ----------------------------------------------------------------------------


def _same_shape(char: str) -> str:
    return normalize_token(char) or char


def readings_of_line(line: OcrLine, *, source: str, kind: str, crop: str = '') -> list[Reading]:
    """The 17-character strings of one OCR line, each with its raw characters and per-character confidences."""
    chars = [char for char in line.text if not char.isspace()]
    kept = [index for index, char in enumerate(chars) if char.isascii() and char.isalnum()]
    compact = ''.join(_same_shape(chars[index]) for index in kept)
    found = []
    for candidate in candidates_in_line(line.text):
        vin = candidate.vin
        at = compact.find(vin)
        if at < 0:
            found.append(Reading(vin, source, kind, crop=crop))
            continue
        indexes = kept[at : at + VIN_LENGTH]
        raw = ''.join(chars[index].upper() for index in indexes)
        confidences = (
            tuple(line.char_confidences[index] for index in indexes) if len(line.char_confidences) == len(chars) else ()
        )
        found.append(Reading(vin, source, kind, raw=raw, confidences=confidences, crop=crop))
    return found


def _alnum_length(word: str) -> int:
    return sum(char.isascii() and char.isalnum() for char in word)


_EDGE_MARKS = '*|"\'()[]{}<>.,;_-'


def _vin_ish(word: str) -> bool:
    """A word that can be (part of) a VIN: letters and digits, except one caption separator glued at its
    start ("VIN:1FA…", "N°9BW…"). A date ("03/2011"), a weight ("1.4"), "EN:" are other label text."""
    core = word.strip(_EDGE_MARKS)
    if not core:
        return False
    inner = [index for index, char in enumerate(core) if not (char.isascii() and char.isalnum())]
    if not inner:
        return True
    return len(inner) == 1 and core[inner[0]] in ':°º#' and 0 < inner[0] <= 7 and inner[0] < len(core) - 1


def vin_spans(line: OcrLine) -> list[tuple[int, int, int, int]]:
    """Boxes of the word runs of a page line that may be a VIN (the OCR often splits one, or glues a
    caption to it): 1–3 words, 13–21 letters and digits in all, at least 3 digits and 2 letters, one word of
    at least 7 characters. Only those words are cropped, not the whole line with its caption."""
    words = line.text.split()
    if len(line.word_boxes) != len(words):
        return [line.box] if 13 <= _alnum_length(line.text) <= 21 else []
    spans: list[tuple[int, int, int]] = []  # (distance from 17, start, end)
    for start in range(len(words)):
        compact = ''
        for end in range(start, min(len(words), start + 3)):
            if not _vin_ish(words[end]):
                break
            compact += ''.join(char for char in words[end] if char.isascii() and char.isalnum())
            if len(compact) > 21:
                break
            longest = max(_alnum_length(word) for word in words[start : end + 1])
            if (
                len(compact) >= 13
                and longest >= 7
                and sum(char.isdigit() for char in compact) >= 3
                and sum(char.isalpha() for char in compact) >= 2
            ):
                spans.append((abs(len(compact) - VIN_LENGTH), start, end))
    chosen: list[tuple[int, int]] = []
    for _, start, end in sorted(spans):
        if all(end < other_start or start > other_end for other_start, other_end in chosen):
            chosen.append((start, end))
    boxes = []
    for start, end in chosen:
        parts = line.word_boxes[start : end + 1]
        boxes.append(
            (
                min(box[0] for box in parts),
                min(box[1] for box in parts),
                max(box[2] for box in parts),
                max(box[3] for box in parts),
            )
        )
    return boxes


def text_row(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """`box` narrowed to its main row of text. A page read's word box sometimes spans a caption above or
    below the VIN as well; scaled as one line, the VIN's characters would come out half the intended height
    (and "1" turns into "L"). The rows are the runs of the ink profile; the main one holds the most ink."""
    left, top, right, bottom = box
    region = np.asarray(image.crop((left, top, right, bottom)))
    if region.size == 0 or region.shape[0] < 8:
        return box
    threshold = otsu_threshold(region)
    border = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    ink = region > threshold if float(np.mean(border)) < threshold else region <= threshold
    profile = ink.mean(axis=1)
    rows = profile > max(0.02, 0.15 * float(profile.max()))
    runs: list[tuple[int, int]] = []
    start = None
    for index, filled in enumerate([*rows, False]):
        if filled and start is None:
            start = index
        elif not filled and start is not None:
            runs.append((start, index))
            start = None
    # Gaps of a pixel or two inside one row (thin strokes, noise) do not split it.
    merged: list[tuple[int, int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] <= 2:
            merged[-1] = (merged[-1][0], run[1])
        else:
            merged.append(run)
    if not merged:
        return box
    main = max(merged, key=lambda run: float(profile[run[0] : run[1]].sum()))
    if main[1] - main[0] < 0.3 * (bottom - top):
        return box  # no dominant row: keep the box as read
    return left, top + main[0], right, top + main[1]


def crop_columns(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int]:
    """The left and right edges of the crop of one row of text (`box`), chosen so that it cuts no character
    in two. A clipped character is the one error no vote can catch — every read of the crop agrees on it
    (the right half of an 8 is a 3, the left half of a 9 a 6 or a C) — and it happened in two ways: a page
    read's word box ending inside the first or last character (its threshold lost part of it), and the
    crop's margin reaching into the neighbouring character (the caption, or the VIN's next character when
    the word box fell short). So each edge first grows outwards over columns that hold ink, to the end of a
    character the box cuts (kept as it was if ink goes on for more than a character's width: a neighbour
    touching, a frame); then the margin, up to half the text height, stops before the next ink."""
    left, top, right, bottom = (round(value) for value in box)
    height = bottom - top
    margin = height // 2
    reach = max(3, round(0.8 * height))
    outer_left, outer_right = max(0, left - reach - margin), min(image.width, right + reach + margin)
    region = np.asarray(image.crop((outer_left, top, outer_right, bottom)))
    if height < 8 or region.size == 0:
        return max(0, left - margin), min(image.width, right + margin)
    threshold = otsu_threshold(region)
    # The paper is the majority of the row: ink is the other side of the threshold.
    ink = region <= threshold if float(np.mean(region > threshold)) >= 0.5 else region > threshold
    counts = ink.sum(axis=0)
    inked = counts >= max(2, round(0.06 * height))  # part of a character (a speck of noise is not)
    touched = counts >= 1  # any ink at all: the margin keeps clear of it

    def has_ink(column: int, *, trace: bool = False) -> bool:
        found = touched if trace else inked
        return 0 <= column - outer_left < len(found) and bool(found[column - outer_left])

    def edge(start: int, step: int) -> int:
        """From the box's outermost column `start`, the outermost column of the character it cuts."""
        column = start
        while has_ink(column + step):
            column += step
            if abs(column - start) >= reach:
                return start
        return column

    def clear(start: int, step: int) -> int:
        """From the character's outermost column, the last column of paper before other ink (margin at most)."""
        column = start
        while (
            abs(column - start) < margin
            and 0 <= column + 2 * step < image.width
            and not has_ink(column + step, trace=True)
            and not has_ink(column + 2 * step, trace=True)
        ):
            column += step
        return column

    first = edge(left, -1)
    last = edge(right - 1, 1)
    return clear(first, -1), clear(last, 1) + 1


def longest_word(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The longest word of a detected text line (RapidOCR's boxes are whole lines, "CHASIS N° 8AG0K1…"), when
    it is long enough to be a VIN; else the line. Words are runs of ink columns separated by gaps wider than
    a third of the text height (the gaps between a VIN's characters are narrower). Read alone, the VIN is
    not glued to its caption by the second recognizer's alphabet ("CHASISN8AG0K1…")."""
    left, top, right, bottom = text_row(image, box)
    height = bottom - top
    region = np.asarray(image.crop((left, top, right, bottom)))
    if height < 8 or region.size == 0:
        return box
    threshold = otsu_threshold(region)
    ink = region <= threshold if float(np.mean(region > threshold)) >= 0.5 else region > threshold
    inked = ink.sum(axis=0) >= max(2, round(0.06 * height))
    words: list[tuple[int, int]] = []
    start = gap = None
    for column, filled in enumerate([*inked.tolist(), False]):
        if filled:
            if start is None:
                start = column
            elif gap is not None and column - gap > height / 3:
                words.append((start, gap))
                start = column
            gap = None
        elif start is not None and gap is None:
            gap = column
    if start is not None and gap is not None:
        words.append((start, gap))
    if not words:
        return box
    first, last = max(words, key=lambda word: word[1] - word[0])
    if last - first < 6 * height or (first, last) == (words[0][0], words[-1][1]):
        return box
    return left + first, box[1], left + last, box[3]


def line_crop(image: Image.Image, box: tuple[int, int, int, int], *, threshold: str, text_height: int) -> Image.Image:
    """The words alone, scaled to `text_height` px characters, dark on light, with a margin; 'otsu'
    thresholds the crop on its own (glare elsewhere in the photo does not move it), 'gray' stretches it."""
    row = text_row(image, box)
    top, bottom = row[1], row[3]
    height = max(1, bottom - top)
    left, right = crop_columns(image, row)
    crop = image.crop((left, max(0, top - height // 4), right, min(image.height, bottom + height // 4)))
    scale = text_height / height
    if abs(scale - 1) > 0.05:
        crop = crop.resize(
            (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
            Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC,
        )
    if border_is_dark(crop):
        crop = ImageOps.invert(crop)
    if threshold == 'otsu':
        return pad(binarize(crop), 12, fill=255)
    stretched = ImageOps.autocontrast(crop, cutoff=1)
    return pad(stretched, 12, fill=int(np.max(np.asarray(stretched))))


def character_boxes(crop: Image.Image) -> list[tuple[int, int, int, int]]:
    """The characters of a prepared line crop, cut at the columns without ink; [] unless exactly 17 (a VIN
    whose characters touch, or a crop with a caption, is left to the line reads)."""
    pixels = np.asarray(crop)
    ink = pixels <= otsu_threshold(pixels)
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return []
    columns = ink.sum(axis=0)
    runs: list[tuple[int, int]] = []
    start = None
    for index, count in enumerate([*columns.tolist(), 0]):
        if count and start is None:
            start = index
        elif not count and start is not None:
            runs.append((start, index))
            start = None
    if not runs:
        return []
    # Specks (noise, a stray dot) are not characters: far less ink than a real one.
    weights = [int(columns[left:right].sum()) for left, right in runs]
    heaviest = max(weights)
    runs = [run for run, weight in zip(runs, weights, strict=True) if weight >= 0.08 * heaviest]
    if len(runs) != VIN_LENGTH:
        return []
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    return [(left, top, right, bottom) for left, right in runs]


def _character_images(crop: Image.Image, boxes: list[tuple[int, int, int, int]]) -> list[Image.Image]:
    """Each character alone, thresholded, cut exactly at its ink columns: measured on the synthetic set, any
    horizontal margin brings slivers of the neighbours in (7 read Z, 3 read B) and gray crops leave more
    characters unread."""
    binary = binarize(crop)
    return [pad(binary.crop(box), 10, fill=255) for box in boxes]


@dataclass
class _Run:
    engine: OcrEngine
    deadline: float
    timings: dict[str, float]
    readings: list[Reading] = field(default_factory=list)
    cropped: list[tuple[int, int, int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    words_seen: int = 0
    vin_like_spans: int = 0
    decision: Decision | None = None
    # Requiring a character-by-character read to agree at every position of an unverified VIN was measured
    # (synthetic set: 66 % exact instead of 81 % OCR-only, no fewer wrong VINs): they vote instead, and
    # their disagreement is what stops the line reads' context errors.
    confirming_kind: str | None = None
    second: OcrEngine | None = None
    detector: RapidOcrEngine | None = None

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 4)

    def add(self, readings: list[Reading]) -> None:
        self.readings.extend(readings)
        self.decision = None

    @property
    def settled(self) -> bool:
        if self.decision is None:
            self.decision = decide(self.readings, confirming_kind=self.confirming_kind)
        return self.decision.vin is not None

    def page(self, name: str, image: Image.Image, mode: str, *, crops_from: Image.Image, scale: float) -> None:
        """Read a whole page; its VIN-like word runs are then re-read as lines from `crops_from`."""
        with self.timed(name):
            lines = self.engine.read_page(image, mode=mode, seconds_left=self.left())
        for line in lines:
            self.add(readings_of_line(line, source=name, kind='page'))
            if line.text and line.text not in self.texts:
                self.texts.append(line.text)
        self.words_seen += sum(len(line.text.split()) for line in lines)
        spans = [box for line in lines for box in vin_spans(line)]
        self.vin_like_spans += len(spans)
        self.lines(name, [_unscaled(box, scale) for box in spans], crops_from)

    def lines(self, name: str, boxes: list[tuple[int, int, int, int]], image: Image.Image) -> None:
        def overlaps_done(box: tuple[int, int, int, int]) -> bool:
            slack = max(4, (box[3] - box[1]) // 2)
            return any(
                min(box[3], done[3]) - max(box[1], done[1]) > 0.6 * (box[3] - box[1])
                and done[0] <= box[0] + slack
                and done[2] >= box[2] - slack
                for done in self.cropped
            )

        crops = 0
        for box in boxes:
            if crops >= MAX_CROPS_PER_PAGE or self.settled:
                return
            if box[3] - box[1] < 4 or box[2] - box[0] < 20 or overlaps_done(box):
                continue
            self.cropped.append(box)
            crops += 1
            crop_name = f'line{len(self.cropped)}'
            prepared: dict[tuple[str, int], Image.Image] = {}
            with self.timed('lines'):
                self.read_crop(self.engine, crop_name, image, box, prepared, second=False)
            if self.second is not None and not self.settled:
                with self.timed('second'):
                    self.read_crop(self.second, crop_name, image, box, prepared, second=True)

    def read_crop(
        self,
        engine: OcrEngine,
        crop_name: str,
        image: Image.Image,
        box: tuple[int, int, int, int],
        prepared: dict[tuple[str, int], Image.Image],
        *,
        second: bool,
    ) -> None:
        """One recognizer's reads of one line crop: whole-line reads in several preparations, then each
        character alone. The first recognizer reads them all (each read is a chance to disagree); the second
        is asked one read at a time and stops as soon as the photo is settled: it is there to settle what
        the first could not, and the plan stays fixed (same bytes, same reads, same answer)."""
        if second:
            line_kind, chars_kind = SECOND_LINE_KIND, SECOND_CHARS_KIND
            line_preparations, character_preparations = SECOND_LINE_PREPARATIONS, SECOND_CHARACTER_PREPARATIONS
            label = f'{crop_name}-{getattr(engine, "language", engine.name)}'
        else:
            line_kind, chars_kind = LINE_KIND, CHARS_KIND
            line_preparations, character_preparations = LINE_PREPARATIONS, CHARACTER_PREPARATIONS
            label = crop_name

        def prepared_crop(threshold: str, height: int) -> Image.Image:
            if (threshold, height) not in prepared:
                prepared[threshold, height] = line_crop(image, box, threshold=threshold, text_height=height)
            return prepared[threshold, height]

        read_already: set[tuple[str, int]] = set()
        for threshold, height, alphabet in line_preparations:
            if (threshold, height) in read_already and not engine.honours_alphabet:
                continue  # the same read again would count as a second, agreeing one
            read_already.add((threshold, height))
            source = f'{label}-{threshold}{height}-{alphabet}'
            for line in engine.read_line(prepared_crop(threshold, height), seconds_left=self.left(), alphabet=alphabet):
                self.add(readings_of_line(line, source=source, kind=line_kind, crop=crop_name))
            if second and self.settled:
                return
        for threshold, height in character_preparations:
            crop = prepared_crop(threshold, height)
            boxes = character_boxes(crop)
            if not boxes:
                continue
            read = engine.read_characters(_character_images(crop, boxes), seconds_left=self.left())
            if read is None:
                return
            text = ''.join(char or UNREAD for char, _ in read)
            self.add(
                [
                    Reading(
                        text,
                        f'{label}-chars-{threshold}{height}',
                        chars_kind,
                        confidences=tuple(confidence for _, confidence in read),
                        crop=crop_name,
                    )
                ]
            )
            if second and self.settled:
                return


def _scaled(image: Image.Image, longest: int) -> tuple[Image.Image, float]:
    resized = fit_long_side(image, longest=longest)
    return resized, resized.width / image.width


def _unscaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    """A box found on an image resized by `scale`, in the pixels of the original."""
    left, top, right, bottom = (round(value / scale) for value in box)
    return left, top, right, bottom


def _without_star_marks(text: str) -> str:
    """Stamped VINs are framed by stars, which OCR reads as X, K, I or *: "XLMGKT1G89N1145941X" → the line with
    the 17 characters inside added as a word of their own. Only a line that is one such run (18–19 characters)."""
    run = ''.join(char for char in text if not char.isspace()).strip(_EDGE_MARKS)
    inner = []
    if len(run) == VIN_LENGTH + 2 and run[0] in STAR_MARKS and run[-1] in STAR_MARKS:
        inner.append(run[1:-1])
    elif len(run) == VIN_LENGTH + 1:
        inner += [run[1:]] if run[0] in STAR_MARKS else []
        inner += [run[:-1]] if run[-1] in STAR_MARKS else []
    return ' '.join([text, *inner])


def _dark_on_light(image: Image.Image, *, flip: bool = False) -> Image.Image:
    return ImageOps.invert(image) if is_light_on_dark(image) != flip else image


def _detected_lines(run: _Run, detector: RapidOcrEngine, upright: Image.Image) -> None:
    """RapidOCR's detector and recognizer on the VIN-shaped lines of the whole photo, then a second look at the
    lines that held a VIN, recognised again from the full-size image: two reads by a third network. Stamped metal
    and plates behind glass, where Tesseract reads nothing usable, are read here (issue 17); what it finds is also
    cropped for Tesseract to confirm."""
    page, scale = _scaled(upright, DETECT_SIZE)
    with run.timed('detect'):
        found = detector.read_vin_shaped_lines(page, seconds_left=run.left())
    quads, boxes = [], []
    for line, quad in found:
        if line.text and line.text not in run.texts:
            run.texts.append(line.text)
        readings = _detected_readings(line, source='detect')
        if any(validate_vin(reading.text).valid for reading in readings):
            run.add(readings)
            quads.append(quad / scale)
            boxes.append(_unscaled(line.box, scale))
    if not quads or run.settled:
        return
    with run.timed('detect'):
        again = detector.read_quads(upright, quads, seconds_left=run.left())
    for line in again:
        run.add(_detected_readings(line, source='detect-full-size'))
    if not run.settled:
        run.lines('detect', boxes, upright)


def _detected_readings(line: OcrLine, *, source: str) -> list[Reading]:
    return readings_of_line(
        OcrLine(_without_star_marks(line.text), line.confidence, line.box), source=source, kind=DETECT_KIND
    )


def _ocr_passes(run: _Run, upright: Image.Image) -> Iterator[Callable[[], None]]:
    """The OCR plan, cheapest first; each step runs only while the answer is not settled."""
    if run.engine.name == 'rapidocr':
        # Detection finds the text boxes; only VIN-shaped boxes are recognised as lines, best first.
        def rapid_boxes() -> None:
            page, scale = _scaled(upright, 1280)
            with run.timed('detect'):
                boxes = run.engine.read_page(page, mode='boxes', seconds_left=run.left())
            shaped = sorted(
                (box.box for box in boxes if (box.box[2] - box.box[0]) >= 6 * (box.box[3] - box.box[1])),
                key=lambda box: -(box[2] - box[0]),
            )
            run.lines(
                'rapid',
                [longest_word(upright, _unscaled(box, scale)) for box in shaped],
                upright,
            )

        yield rapid_boxes

        def rapid_full() -> None:
            page, _ = _scaled(upright, 1280)
            with run.timed('rapid-full'):
                lines = run.engine.read_page(page, mode='full', seconds_left=run.left())
            for line in lines:
                run.add(readings_of_line(line, source='rapid-full', kind='page'))
                run.texts.append(line.text)

        yield rapid_full
        return

    def otsu_page() -> None:
        page, scale = _scaled(_dark_on_light(upright), PAGE_SIZE)
        run.page('page-otsu', binarize(page), 'sparse', crops_from=upright, scale=scale)

    yield otsu_page

    # Second, not first: Tesseract's first page settles most printed labels in ~0.4 s; the detector (up to ~1 s on
    # a label dense with text) is for what it leaves, stamped metal and plates behind glass above all.
    detector = run.detector
    if detector is not None:
        yield lambda: _detected_lines(run, detector, upright)

    def gray_page() -> None:
        page, scale = _scaled(_dark_on_light(upright), PAGE_SIZE)
        run.page('page-gray', ImageOps.autocontrast(page, cutoff=1), 'block', crops_from=upright, scale=scale)

    yield gray_page

    def local_page() -> None:
        page, scale = _scaled(_dark_on_light(upright), PAGE_SIZE)
        run.page('page-local', binarize_local(page), 'sparse', crops_from=upright, scale=scale)

    yield local_page

    def inverted_page() -> None:
        if run.vin_like_spans:
            return  # the text was found the right way round; only its reading was in doubt
        page, scale = _scaled(_dark_on_light(upright, flip=True), PAGE_SIZE)
        run.page('page-inverted', binarize(page), 'sparse', crops_from=upright, scale=scale)

    yield inverted_page

    for turn in (90, 270):

        def quarter_turn(turn: int = turn) -> None:
            if run.words_seen >= 8:
                return  # plenty of horizontal text: the photo is not sideways
            turned = upright.rotate(turn, expand=True)
            page, scale = _scaled(_dark_on_light(turned), PAGE_SIZE)
            run.page(f'page-turn{turn}', binarize(page), 'sparse', crops_from=turned, scale=scale)

        yield quarter_turn


def read_vin(
    content: bytes, *, engine: str = 'tesseract', time_budget: float = 15.0, barcodes: bool = True
) -> VinResult:
    """The VIN in a photo, or why there is none. Pure: same bytes and engine, same answer (cacheable by sha256)."""
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    timings: dict[str, float] = {}

    def elapsed() -> float:
        return round(time.perf_counter() - started, 4)

    def finish_timings() -> dict[str, float]:
        timings['cpu'] = round(cpu_seconds() - cpu_started, 4)
        return timings

    try:
        gray = load_grayscale(content)
    except UnreadableImage as exc:
        return VinResult.failed(engine=engine, error=str(exc), seconds=elapsed(), timings=finish_timings())
    timings['load'] = elapsed()
    run = _Run(
        engine=engine_named(engine),
        deadline=started + time_budget,
        timings=timings,
        second=second_recognizer(engine),
        detector=RapidOcrEngine() if engine == 'tesseract' and rapidocr_available() else None,
    )
    error = ''
    try:
        if barcodes:
            with run.timed('barcode'):
                run.add(_barcode_readings([(fit_long_side(gray, longest=BARCODE_SIZE), None)]))
        if not run.settled:
            with run.timed('deskew'):
                work = fit_long_side(gray, longest=WORK_SIZE, upscale_below=1000)
                upright = rotate(work, estimate_skew(work))
            if barcodes:
                # Deskewed, a tilted 1-D code has a straight scan line again; dark-on-light, because zxing's own
                # inversion misses light bars on a dark plate; a fixed threshold, because its local one
                # splits blurred bars. A dark plate may still carry a printed black-on-white sticker.
                dark_on_light = _dark_on_light(upright)
                attempts = [(dark_on_light, 'FixedThreshold'), (dark_on_light, None)]
                if dark_on_light is not upright:
                    attempts.append((upright, None))
                with run.timed('barcode'):
                    run.add(_barcode_readings(attempts))
            if not run.settled:
                for step in _ocr_passes(run, upright):
                    if run.left() <= 0.05:
                        raise OcrTimeout('time budget used up')
                    step()
                    if run.settled:
                        break
    except OcrTimeout:
        error = 'timeout'
    decision = run.decision or decide(run.readings, confirming_kind=run.confirming_kind)
    vin = decision.vin
    vehicle = decode_vehicle(vin) if vin else None
    return VinResult(
        vin=vin,
        status=decision.check.status if decision.check else VinStatus.NONE,
        source=decision.source,
        confidence=decision.confidence,
        candidates=decision.candidates,
        vehicle=vehicle.to_dict() if vehicle else None,
        timings=finish_timings(),
        seconds=elapsed(),
        engine=engine,
        error=error,
        text_lines=run.texts,
        reason=decision.reason,
    )


__all__ = ['PIPELINE_VERSION', 'VinResult', 'barcode_candidates', 'otsu_threshold', 'read_vin', 'readings_of_line']
