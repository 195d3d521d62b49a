"""Tesseract in this process, through the C API of the `libtesseract5` library that Debian's `tesseract-ocr`
package already installs (ctypes; no extra Python package).

Why not only pytesseract: it starts a `tesseract` process for every call, and that process loads the model
again each time — 0.25–0.3 s of CPU before a single character is read (measured here: a blank 20×20 image
costs 0.3 s). The VIN pipeline reads one page and then many small line crops; in process, a line read
costs ~0.02 s and a page ~0.15 s, which is what makes several independent reads per line (the votes that
keep wrong VINs out) affordable within the time target. pytesseract remains the fallback when the library
cannot be loaded (another platform, another version).

Why not tesserocr (the Cython binding, on PyPI): it means either a Tesseract of its own (a second copy beside
Debian's, with its own version and data path) or a build against Debian's library, which needs libtesseract-dev
and a C++ toolchain at install time. A dozen ctypes declarations against the library `tesseract-ocr` already
installs keep one Tesseract on the machine and nothing to compile.

Only the handful of C functions used here are declared. One `TesseractApi` per process and language (the
model stays loaded; the pipeline uses English, and Spanish as its second recognizer); it is not thread-safe,
and the VIN pool runs one thread per process.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

_OEM_LSTM_ONLY = 1
_RIL_WORD = 3
_RIL_SYMBOL = 4
# Dictionaries off: a VIN is no word, and the word lists pull letters towards English spellings.
_INIT_VARIABLES = {'load_system_dawg': '0', 'load_freq_dawg': '0'}


class TesseractUnavailable(RuntimeError):
    """libtesseract could not be loaded or initialised (the CLI fallback is used instead)."""


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0..1
    box: tuple[int, int, int, int]  # left, top, right, bottom
    line: tuple[int, int, int]  # Tesseract's block, paragraph and line numbers


@dataclass(frozen=True)
class Symbol:
    text: str
    confidence: float  # 0..1
    starts_word: bool


def _load_library() -> ctypes.CDLL:
    names = [name for name in (ctypes.util.find_library('tesseract'), 'libtesseract.so.5') if name]
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(str(exc))
    raise TesseractUnavailable('libtesseract not found: ' + '; '.join(errors or ['no candidate names']))


def _declare(lib: ctypes.CDLL) -> None:
    p, c_int, c_char_p = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures = {
        'TessVersion': ([], c_char_p),
        'TessBaseAPICreate': ([], p),
        'TessBaseAPIDelete': ([p], None),
        'TessBaseAPIEnd': ([p], None),
        'TessBaseAPIInit4': (
            [
                p,
                c_char_p,
                c_char_p,
                c_int,
                ctypes.POINTER(c_char_p),
                c_int,
                ctypes.POINTER(c_char_p),
                ctypes.POINTER(c_char_p),
                ctypes.c_size_t,
                c_int,
            ],
            c_int,
        ),
        'TessBaseAPISetVariable': ([p, c_char_p, c_char_p], c_int),
        'TessBaseAPISetPageSegMode': ([p, c_int], None),
        'TessBaseAPISetImage': ([p, c_char_p, c_int, c_int, c_int, c_int], None),
        'TessBaseAPISetSourceResolution': ([p, c_int], None),
        'TessBaseAPIRecognize': ([p, p], c_int),
        'TessBaseAPIGetTsvText': ([p, c_int], p),
        'TessBaseAPIGetIterator': ([p], p),
        'TessBaseAPIClear': ([p], None),
        'TessDeleteText': ([p], None),
        'TessMonitorCreate': ([], p),
        'TessMonitorDelete': ([p], None),
        'TessMonitorSetDeadlineMSecs': ([p, c_int], None),
        'TessResultIteratorDelete': ([p], None),
        'TessResultIteratorNext': ([p, c_int], c_int),
        'TessResultIteratorGetUTF8Text': ([p, c_int], p),
        'TessResultIteratorConfidence': ([p, c_int], ctypes.c_float),
        'TessResultIteratorGetPageIterator': ([p], p),
        'TessPageIteratorIsAtBeginningOf': ([p, c_int], c_int),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = arguments
        function.restype = result


class TesseractApi:
    """One initialised Tesseract (LSTM, English model, dictionaries off)."""

    def __init__(self, *, language: str = 'eng') -> None:
        self._lib = _load_library()
        try:
            _declare(self._lib)
        except AttributeError as exc:
            raise TesseractUnavailable(f'libtesseract lacks a C API function: {exc}') from exc
        self.version = (self._lib.TessVersion() or b'').decode()
        self._lock = threading.Lock()
        self._handle = self._lib.TessBaseAPICreate()
        names = (ctypes.c_char_p * len(_INIT_VARIABLES))(*(key.encode() for key in _INIT_VARIABLES))
        values = (ctypes.c_char_p * len(_INIT_VARIABLES))(*(value.encode() for value in _INIT_VARIABLES.values()))
        if (
            self._lib.TessBaseAPIInit4(
                self._handle, None, language.encode(), _OEM_LSTM_ONLY, None, 0, names, values, len(_INIT_VARIABLES), 0
            )
            != 0
        ):
            self._lib.TessBaseAPIDelete(self._handle)
            raise TesseractUnavailable(f'Tesseract could not load the {language!r} model')
        atexit.register(self.close)

    def close(self) -> None:
        with self._lock:
            if self._handle:
                handle, self._handle = self._handle, None
                self._lib.TessBaseAPIEnd(handle)
                self._lib.TessBaseAPIDelete(handle)

    def _recognize(
        self, pixels: bytes, width: int, height: int, *, psm: int, whitelist: str, seconds_left: float
    ) -> bool:
        """Run recognition; False when the deadline stopped it (the result is then incomplete). The caller
        holds the lock until it has read the results."""
        lib, handle = self._lib, self._handle
        if not handle:
            raise TesseractUnavailable('Tesseract was closed')
        lib.TessBaseAPISetPageSegMode(handle, psm)
        lib.TessBaseAPISetVariable(handle, b'tessedit_char_whitelist', whitelist.encode())
        lib.TessBaseAPISetImage(handle, pixels, width, height, 1, width)
        # Without a resolution Tesseract warns and guesses one per image; the crops are sized for it anyway.
        lib.TessBaseAPISetSourceResolution(handle, 300)
        monitor = lib.TessMonitorCreate()
        try:
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(seconds_left * 1000)))
            return lib.TessBaseAPIRecognize(handle, monitor) == 0
        finally:
            lib.TessMonitorDelete(monitor)

    def words(
        self, pixels: bytes, width: int, height: int, *, psm: int, whitelist: str = '', seconds_left: float
    ) -> tuple[list[Word], bool]:
        """The words of an 8-bit gray image (row-major bytes), with boxes and Tesseract's line numbers."""
        with self._lock:
            completed = self._recognize(pixels, width, height, psm=psm, whitelist=whitelist, seconds_left=seconds_left)
            pointer = self._lib.TessBaseAPIGetTsvText(self._handle, 0)
            try:
                tsv = ctypes.string_at(pointer).decode('utf-8', errors='replace') if pointer else ''
            finally:
                if pointer:
                    self._lib.TessDeleteText(pointer)
        words = []
        for row in tsv.splitlines():
            fields = row.split('\t')
            if len(fields) < 12 or fields[0] != '5' or not fields[11].strip():
                continue
            block, paragraph, line = int(fields[2]), int(fields[3]), int(fields[4])
            left, top, box_width, box_height = (int(value) for value in fields[6:10])
            confidence = float(fields[10])
            if confidence < 0:
                continue
            words.append(
                Word(
                    fields[11].strip(),
                    confidence / 100.0,
                    (left, top, left + box_width, top + box_height),
                    (block, paragraph, line),
                )
            )
        return words, completed

    def symbols(
        self, pixels: bytes, width: int, height: int, *, psm: int, whitelist: str = '', seconds_left: float
    ) -> tuple[list[Symbol], bool]:
        """Every character read, with its own confidence: a forced choice between look-alikes (J or 1 when
        the glyph is ambiguous) shows up as one low-confidence character in an otherwise confident line."""
        with self._lock:
            completed = self._recognize(pixels, width, height, psm=psm, whitelist=whitelist, seconds_left=seconds_left)
            return self._read_symbols(), completed

    def _read_symbols(self) -> list[Symbol]:
        lib = self._lib
        iterator = lib.TessBaseAPIGetIterator(self._handle)
        if not iterator:
            return []
        symbols = []
        try:
            page_iterator = lib.TessResultIteratorGetPageIterator(iterator)
            while True:
                pointer = lib.TessResultIteratorGetUTF8Text(iterator, _RIL_SYMBOL)
                if pointer:
                    text = ctypes.string_at(pointer).decode('utf-8', errors='replace')
                    lib.TessDeleteText(pointer)
                    confidence = lib.TessResultIteratorConfidence(iterator, _RIL_SYMBOL) / 100.0
                    starts_word = bool(lib.TessPageIteratorIsAtBeginningOf(page_iterator, _RIL_WORD))
                    symbols.append(Symbol(text, max(0.0, confidence), starts_word))
                if not lib.TessResultIteratorNext(iterator, _RIL_SYMBOL):
                    break
        finally:
            lib.TessResultIteratorDelete(iterator)
        return symbols


_apis: dict[str, TesseractApi] = {}
_api_errors: dict[str, str] = {}
_api_lock = threading.Lock()


def shared_api(language: str = 'eng') -> TesseractApi | None:
    """This process's Tesseract for `language`, created on first use; None (and the reason kept) when it
    cannot load."""
    with _api_lock:
        if language not in _apis and language not in _api_errors:
            try:
                _apis[language] = TesseractApi(language=language)
            except TesseractUnavailable as exc:
                _api_errors[language] = str(exc)
        return _apis.get(language)


def unavailable_reason(language: str = 'eng') -> str | None:
    shared_api(language)
    return _api_errors.get(language)
