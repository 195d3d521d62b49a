"""The OCR engines behind one small interface: a page (many lines, with boxes) or a single line.

- Tesseract 5 (LSTM) through pytesseract: the default, from Debian's `tesseract-ocr` package.
- RapidOCR on ONNX Runtime (`rapidocr-onnxruntime`, the `rapidocr` extra): PaddleOCR's detection and
  recognition models, shipped inside its wheel; more accurate on hard photos, slower on one core.

Both run inside the VIN process pool, one engine per process, one thread each (OMP_THREAD_LIMIT=1 and
ONNX Runtime's thread counts), so a 2-core server with 1 pool worker still leaves a core to the web app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

# I, O and Q are allowed here on purpose: read as themselves, they are mapped to 1/0/0 by the candidate
# extractor, instead of Tesseract guessing some other allowed character for them.
TESSERACT_WHITELIST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
# Dictionaries off: a VIN is no word, and the word lists pull letters towards English spellings.
_TESSERACT_BASE = '--oem 1 -c load_system_dawg=0 -c load_freq_dawg=0'


class OcrTimeout(TimeoutError):
    """The time left for this image ran out inside an OCR call."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float  # 0..1
    box: tuple[int, int, int, int]  # left, top, right, bottom in the coordinates of the image read


class OcrEngine(Protocol):
    name: str

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]: ...

    def read_line(self, image: Image.Image, *, seconds_left: float, whitelist: bool = False) -> list[OcrLine]: ...


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
        box = (min(w[2][0] for w in line), min(w[2][1] for w in line), max(w[2][2] for w in line),
               max(w[2][3] for w in line))
        confidence = sum(w[1] for w in line) / len(line)
        grouped.append(OcrLine(' '.join(w[0] for w in line), confidence, box))
    return grouped


class TesseractEngine:
    name = 'tesseract'

    def __init__(self, *, language: str = 'eng') -> None:
        self.language = language

    def _data(self, image: Image.Image, config: str, seconds_left: float) -> list[OcrLine]:
        import pytesseract

        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        try:
            data = pytesseract.image_to_data(image, lang=self.language, config=config,
                                             output_type=pytesseract.Output.DICT, timeout=seconds_left)
        except RuntimeError as exc:  # pytesseract kills the process and says "Tesseract process timeout"
            if 'timeout' in str(exc).lower():
                raise OcrTimeout(str(exc)) from exc
            raise
        words = []
        for text, confidence, left, top, width, height in zip(
                data['text'], data['conf'], data['left'], data['top'], data['width'], data['height'], strict=True):
            if text and text.strip() and float(confidence) >= 0:
                words.append((text.strip(), float(confidence) / 100.0, (left, top, left + width, top + height)))
        return _group_words(words)

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]:
        # psm 6: one uniform block (labels); psm 11: sparse text anywhere (photos with clutter).
        psm = {'block': 6, 'sparse': 11}[mode]
        return self._data(image, f'{_TESSERACT_BASE} --psm {psm}', seconds_left)

    def read_line(self, image: Image.Image, *, seconds_left: float, whitelist: bool = False) -> list[OcrLine]:
        # One line. The whitelist (honoured by the LSTM engine since Tesseract 4.1) is optional: it drops the
        # characters of a caption in the same line and glues the rest to the VIN ("N° 9BR…" → "N9BR…").
        config = f'{_TESSERACT_BASE} --psm 7'
        if whitelist:
            config += f' -c tessedit_char_whitelist={TESSERACT_WHITELIST}'
        return self._data(image, config, seconds_left)


_rapidocr: Any = None


def _rapid_engine() -> Any:
    """One RapidOCR per process (loading its three models takes ~0.5 s), single-threaded."""
    global _rapidocr  # noqa: PLW0603 - a per-process model cache, created on first use
    if _rapidocr is None:
        from rapidocr_onnxruntime import RapidOCR

        # Detection on at most 960 px: at RapidOCR's default (min side ≥ 736) a phone photo takes >2 s on one core.
        _rapidocr = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False,
                             det_limit_side_len=960, det_limit_type='max')
    return _rapidocr


def rapidocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class RapidOcrEngine:
    name = 'rapidocr'

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

    def read_line(self, image: Image.Image, *, seconds_left: float, whitelist: bool = False) -> list[OcrLine]:
        del whitelist  # RapidOCR has no character restriction
        if seconds_left <= 0.05:
            raise OcrTimeout('no time left for OCR')
        engine = _rapid_engine()
        array = np.asarray(image.convert('RGB'))[:, :, ::-1]
        result, _ = engine(array, use_det=False, use_cls=False)
        return [OcrLine(str(item[0]), float(item[1]), (0, 0, image.width, image.height)) for item in result or []]


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
