"""The OCR engines behind one small interface: a page (many lines, with boxes) or a single line.

- Tesseract 5 (LSTM) through pytesseract: the default, from Debian's `tesseract-ocr` package.
- RapidOCR on ONNX Runtime (`rapidocr-onnxruntime`, the `rapidocr` extra): PaddleOCR's detection and
  recognition models, shipped inside its wheel; more accurate on hard photos, slower on one core.

Both run inside the VIN process pool, one engine per process, one thread each (OMP_THREAD_LIMIT=1 and
ONNX Runtime's thread counts), so a 2-core server with 1 pool worker still leaves a core to the web app.
Each process also loads the second recognizer (`second_recognizer`: Tesseract's Spanish model, ~0.12 s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from .tesseract_api import TesseractApi, shared_api

# Two alphabets for line reads, because each fails in its own way:
# - the VIN alphabet (no I, O, Q) forces a glyph that looks like I to a VIN character — a J drawn like an I
#   (DejaVu Sans Mono) comes out J, where the open alphabet says I, which maps to 1: a wrong VIN whose check
#   digit still passes (J and 1 have the same value). A forced guess has a low character confidence.
# - but forbidding O makes Tesseract *drop* a round 0 it would have read as O (16 characters, no VIN), so
#   the VIN alphabet plus I, O and Q is read too; consensus.py treats a raw I as "1 or J", O as "0 or D".
VIN_WHITELIST = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'
TESSERACT_WHITELIST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
ALPHABETS = {'vin': VIN_WHITELIST, 'vin+ioq': TESSERACT_WHITELIST, 'any': ''}
# Dictionaries off: a VIN is no word, and the word lists pull letters towards English spellings.
_TESSERACT_BASE = '--oem 1 -c load_system_dawg=0 -c load_freq_dawg=0'


class OcrTimeout(TimeoutError):
    """The time left for this image ran out inside an OCR call."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float  # 0..1
    box: tuple[int, int, int, int]  # left, top, right, bottom in the coordinates of the image read
    # One confidence per non-space character of `text` (0..1), when the engine gives them; () otherwise.
    char_confidences: tuple[float, ...] = ()
    # The box of each whitespace-separated word of `text`, when known (page reads): to crop only the VIN.
    word_boxes: tuple[tuple[int, int, int, int], ...] = ()


class OcrEngine(Protocol):
    name: str
    honours_alphabet: bool  # False: a second read of the same crop with another alphabet is the same read

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]: ...

    def read_line(self, image: Image.Image, *, seconds_left: float, alphabet: str = 'vin+ioq') -> list[OcrLine]: ...

    def read_characters(self, images: list[Image.Image], *, seconds_left: float) -> list[tuple[str, float]] | None: ...


def _group_words(words: list[tuple[str, float, tuple[int, int, int, int]]]) -> list[OcrLine]:
    """Words into lines by geometry: Tesseract's sparse mode (psm 11) reports each word on its own, and a
    VIN the OCR split in two must come back as one line for the candidate extractor to join it."""
    lines: list[list[tuple[str, float, tuple[int, int, int, int]]]] = []
    for word in sorted(words, key=lambda item: item[2][0]):  # left to right: each line grows rightwards
        _, _, (left, top, _, bottom) = word
        height = bottom - top
        for line in lines:
            _, _, (_, line_top, line_right, line_bottom) = line[-1]
            overlap = min(bottom, line_bottom) - max(top, line_top)
            line_height = line_bottom - line_top
            if overlap >= 0.5 * min(height, line_height) and 0 <= left - line_right <= 2.5 * max(height, line_height):
                line.append(word)
                break
        else:
            lines.append([word])
    grouped = []
    for line in lines:
        line.sort(key=lambda item: item[2][0])
        box = (
            min(w[2][0] for w in line),
            min(w[2][1] for w in line),
            max(w[2][2] for w in line),
            max(w[2][3] for w in line),
        )
        confidence = sum(w[1] for w in line) / len(line)
        grouped.append(
            OcrLine(
                ' '.join(w[0] for w in line),
                confidence,
                box,
                word_boxes=tuple(w[2] for w in line for _ in w[0].split()),
            )
        )
    return grouped


class TesseractEngine:
    """Tesseract 5 (LSTM), in process through libtesseract when it loads (tesseract_api.py), else through
    pytesseract and the `tesseract` command (same engine and settings, ~0.3 s more per call)."""

    name = 'tesseract'
    honours_alphabet = True

    def __init__(self, *, language: str = 'eng', in_process: bool = True) -> None:
        self.language = language
        self._want_api = in_process
        self._loaded: TesseractApi | None = None

    @property
    def _api(self) -> TesseractApi | None:
        # Loaded on first use, in the process that reads (the pool's), not in the web process that builds it.
        if self._want_api and self._loaded is None:
            self._loaded = shared_api(self.language)
            self._want_api = self._loaded is not None
        return self._loaded

    @property
    def in_process(self) -> bool:
        return self._api is not None

    def _cli_words(
        self, image: Image.Image, config: str, seconds_left: float
    ) -> list[tuple[str, float, tuple[int, int, int, int]]]:
        import pytesseract

        try:
            data = pytesseract.image_to_data(
                image, lang=self.language, config=config, output_type=pytesseract.Output.DICT, timeout=seconds_left
            )
        except RuntimeError as exc:  # pytesseract kills the process and says "Tesseract process timeout"
            if 'timeout' in str(exc).lower():
                raise OcrTimeout(str(exc)) from exc
            raise
        words = []
        for text, confidence, left, top, width, height in zip(
            data['text'], data['conf'], data['left'], data['top'], data['width'], data['height'], strict=True
        ):
            if text and text.strip() and float(confidence) >= 0:
                words.append((text.strip(), float(confidence) / 100.0, (left, top, left + width, top + height)))
        return words

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]:
        # psm 6: one uniform block (labels); psm 11: sparse text anywhere (photos with clutter).
        psm = {'block': 6, 'sparse': 11}[mode]
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        gray = image.convert('L')
        if self._api is None:
            words = self._cli_words(gray, f'{_TESSERACT_BASE} --psm {psm}', seconds_left)
        else:
            found, completed = self._api.words(
                gray.tobytes(), gray.width, gray.height, psm=psm, seconds_left=seconds_left
            )
            if not completed:
                raise OcrTimeout('Tesseract stopped at its deadline')
            words = [(word.text, word.confidence, word.box) for word in found]
        return _group_words(words)

    def read_line(self, image: Image.Image, *, seconds_left: float, alphabet: str = 'vin+ioq') -> list[OcrLine]:
        """One cropped line, each character with its confidence. psm 13 ("raw line": no layout analysis):
        psm 7 misreads the first character of a long token far more often (1→L, 5→S, 9→S), measured on
        the crops of the synthetic set. The whitelist (`ALPHABETS`, honoured by the LSTM engine since
        Tesseract 4.1) also drops a caption's punctuation and glues the caption to the VIN, which the
        candidate extractor strips ("VIN:1FA…" → "VIN1FA…" → "1FA…")."""
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        gray = image.convert('L')
        allowed = ALPHABETS[alphabet]
        if self._api is None:
            config = f'{_TESSERACT_BASE} --psm 13'
            if allowed:
                config += f' -c tessedit_char_whitelist={allowed}'
            words = self._cli_words(gray, config, seconds_left)
            if not words:
                return []
            text = ' '.join(word[0] for word in words)
            # The command line gives word confidences only: each character gets its word's.
            confidences = tuple(word[1] for word in words for char in word[0] if not char.isspace())
            return [
                OcrLine(
                    text,
                    sum(c for c in confidences) / max(1, len(confidences)),
                    (0, 0, gray.width, gray.height),
                    confidences,
                )
            ]
        symbols, completed = self._api.symbols(
            gray.tobytes(), gray.width, gray.height, psm=13, whitelist=allowed, seconds_left=seconds_left
        )
        if not completed:
            raise OcrTimeout('Tesseract stopped at its deadline')
        text = ''
        char_confidences: list[float] = []
        for symbol in symbols:
            if symbol.starts_word and text:
                text += ' '
            for char in symbol.text:
                if not char.isspace():
                    text += char
                    char_confidences.append(symbol.confidence)
        if not text:
            return []
        return [
            OcrLine(
                text,
                sum(char_confidences) / len(char_confidences),
                (0, 0, gray.width, gray.height),
                tuple(char_confidences),
            )
        ]

    def read_characters(self, images: list[Image.Image], *, seconds_left: float) -> list[tuple[str, float]] | None:
        """Each image holds one character, read on its own (psm 13, VIN alphabet): without neighbours, the
        LSTM's context cannot turn a 5 between letters into an S ("W57" read "WS7"), the systematic error of
        whole-line reads. ('', 0.0) for a character it could not read. None without the in-process library
        (17 command-line calls would cost ~5 s)."""
        if self._api is None:
            return None
        found = []
        for image in images:
            if seconds_left <= 0.05:
                raise OcrTimeout('no time left for OCR')
            gray = image.convert('L')
            symbols, completed = self._api.symbols(
                gray.tobytes(), gray.width, gray.height, psm=13, whitelist=VIN_WHITELIST, seconds_left=seconds_left
            )
            if not completed:
                raise OcrTimeout('Tesseract stopped at its deadline')
            text = ''.join(symbol.text for symbol in symbols).strip()
            found.append(
                (text, min((symbol.confidence for symbol in symbols), default=0.0)) if len(text) == 1 else ('', 0.0)
            )
        return found


_rapidocr: Any = None


def _rapid_engine() -> Any:
    """One RapidOCR per process (loading its three models takes ~0.5 s), single-threaded."""
    global _rapidocr  # noqa: PLW0603 - a per-process model cache, created on first use
    if _rapidocr is None:
        from rapidocr_onnxruntime import RapidOCR

        # Detection on at most 960 px: at RapidOCR's default (min side ≥ 736) a phone photo takes >2 s on one core.
        _rapidocr = RapidOCR(
            intra_op_num_threads=1,
            inter_op_num_threads=1,
            print_verbose=False,
            det_limit_side_len=960,
            det_limit_type='max',
        )
    return _rapidocr


def _sides(points: Any) -> tuple[float, float]:
    """(width, height) of a four-cornered text box (top-left, top-right, bottom-right, bottom-left)."""
    return float(np.linalg.norm(points[1] - points[0])), float(np.linalg.norm(points[3] - points[0]))


def _aspect(points: Any) -> float:
    width, height = _sides(points)
    return width / height if height > 0 else 0.0


def rapidocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class RapidOcrEngine:
    name = 'rapidocr'
    honours_alphabet = False

    def __init__(self) -> None:
        if not rapidocr_available():
            raise RuntimeError('RapidOCR is not installed: install the `rapidocr` extra (rapidocr-onnxruntime)')

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]:
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        engine = _rapid_engine()
        array = np.asarray(image.convert('RGB'))[:, :, ::-1]  # RapidOCR wants OpenCV's BGR order
        # Detection first, recognition only of the boxes: recognising every line costs ~0.2 s each on one
        # core, and a photo of a label has dozens; the candidate lines are recognised by read_line.
        result, _ = engine(array, use_cls=False, use_rec=mode == 'full')
        lines = []
        for item in result or []:
            points = np.asarray(item[0] if mode == 'full' else item, dtype=np.float64).reshape(-1, 2)
            box = (int(points[:, 0].min()), int(points[:, 1].min()), int(points[:, 0].max()), int(points[:, 1].max()))
            text, score = (str(item[1]), float(item[2])) if mode == 'full' else ('', 0.0)
            lines.append(OcrLine(text, score, box))
        return lines

    def read_vin_shaped_lines(
        self, image: Image.Image, *, seconds_left: float, limit: int = 6
    ) -> list[tuple[OcrLine, Any]]:
        """Detection over the whole image, then recognition of `limit` line boxes shaped like a VIN (5 to 28 times
        as long as high: a VIN, perhaps with its caption or stars, not a sentence of the label; VIN-like first),
        each cropped along its own tilt. Returns each line with its four corners (for `read_quads`). A label has
        dozens of lines and recognising one costs ~0.05–0.3 s on one core (more the longer it is).

        RapidOCR's steps are called one by one (its `__call__` recognises every box): `preprocess`,
        `maybe_add_letterbox`, `auto_text_det`, `get_crop_img_list`, `text_rec` and `_get_origin_points`, as in
        rapidocr-onnxruntime 1.4 (pinned by uv.lock; the pipeline's tests read images through this path)."""
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        engine = _rapid_engine()
        array = np.asarray(image.convert('RGB'))[:, :, ::-1]
        raw_h, raw_w = array.shape[:2]
        prepared, ratio_h, ratio_w = engine.preprocess(array)
        record: dict[str, Any] = {'preprocess': {'ratio_h': ratio_h, 'ratio_w': ratio_w}}
        prepared, record = engine.maybe_add_letterbox(prepared, record)
        boxes, _ = engine.auto_text_det(prepared)
        if boxes is None or len(boxes) == 0:
            return []
        shaped = [points for points in boxes if 5 <= _aspect(points) <= 28]
        # A VIN alone is 8–16 times as long as high: those first, then the taller (nearer, larger) ones.
        shaped = sorted(shaped, key=lambda points: (not 8 <= _aspect(points) <= 16, -_sides(points)[1]))[:limit]
        if not shaped:
            return []
        originals = engine._get_origin_points(shaped, record, raw_h, raw_w)
        return list(zip(self.read_quads(image, originals, seconds_left=seconds_left), originals, strict=True))

    def read_quads(self, image: Image.Image, quads: Any, *, seconds_left: float) -> list[OcrLine]:
        """Recognition of given four-cornered boxes of `image` (each cropped along its tilt), one line each."""
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        if len(quads) == 0:
            return []
        engine = _rapid_engine()
        array = np.asarray(image.convert('RGB'))[:, :, ::-1]
        crops = engine.get_crop_img_list(array, [np.asarray(quad, dtype=np.float32) for quad in quads])
        recognised, _ = engine.text_rec(crops, False)
        lines = []
        for quad, (text, score, *_) in zip(quads, recognised, strict=True):
            points = np.asarray(quad)
            box = (int(points[:, 0].min()), int(points[:, 1].min()), int(points[:, 0].max()), int(points[:, 1].max()))
            lines.append(OcrLine(str(text), float(score), box))
        return lines

    def read_characters(self, images: list[Image.Image], *, seconds_left: float) -> list[tuple[str, float]] | None:
        del images, seconds_left
        return None  # its recogniser is trained on lines; one character alone is no line

    def read_line(self, image: Image.Image, *, seconds_left: float, alphabet: str = 'vin+ioq') -> list[OcrLine]:
        del alphabet  # RapidOCR has no character restriction
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        engine = _rapid_engine()
        array = np.asarray(image.convert('RGB'))[:, :, ::-1]
        result, _ = engine(array, use_det=False, use_cls=False)
        return [OcrLine(str(item[0]), float(item[1]), (0, 0, image.width, image.height)) for item in result or []]


def second_recognizer(engine: str) -> TesseractEngine | None:
    """The recognizer asked for a second opinion on the line crops that the first did not settle (see
    pipeline.py): for Tesseract its Spanish model (`tesseract-ocr-spa`, installed with the app) — a network
    trained apart from the English one, so it does not share its context errors (English reads "WS7" where
    the label says "W57", "KMHT1T7" for the touching serifs of "KMHTT7"; Spanish reads both right) nor its
    lone-glyph confusions (X read 4); for RapidOCR, Tesseract's English model. In process only (a command
    per line would cost ~0.3 s each); None when it cannot load (then the first recognizer's reads must
    settle a photo alone: its line reads and its character-by-character reads)."""
    second = TesseractEngine(language='spa') if engine == 'tesseract' else TesseractEngine()
    return second if second.in_process else None


def engine_named(name: str) -> OcrEngine:
    if name == 'tesseract':
        return TesseractEngine()
    if name == 'rapidocr':
        return RapidOcrEngine()
    raise ValueError(f'unknown OCR engine {name!r} (tesseract or rapidocr)')


def limit_threads() -> None:
    """Each pool process uses one core: Tesseract's OpenMP threads would fight the other processes."""
    os.environ['OMP_THREAD_LIMIT'] = '1'
    os.environ.setdefault('OMP_NUM_THREADS', '1')
