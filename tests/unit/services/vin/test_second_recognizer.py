"""The second recognizer (pipeline version 3): asked only about crops the first did not settle, one read at a
time, and counted as another kind of read; and the re-read of a VIN a page read located wider."""

from __future__ import annotations

import time

import pytest
from PIL import Image, ImageDraw, ImageFont

from services.vin.consensus import CHARS_KIND, LINE_KIND, SECOND_LINE_KIND
from services.vin.engines import OcrLine, TesseractEngine, second_recognizer
from services.vin.pipeline import _Run, line_crop, longest_word, readings_of_line
from services.vin.tesseract_api import unavailable_reason

FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf'
BR_VIN = '9BWAB45U5FP012345'  # no check digit applies: needs two kinds of read


class FakeEngine:
    """Reads every line crop as `text`; reads characters as `characters` (None: it cannot)."""

    honours_alphabet = True

    def __init__(self, name: str, text: str, *, characters: str | None = None) -> None:
        self.name = self.language = name
        self.text = text
        self.characters = characters
        self.line_reads = 0
        self.crops: list[tuple[int, int]] = []

    def read_page(self, image: Image.Image, *, mode: str, seconds_left: float) -> list[OcrLine]:
        raise AssertionError('no page reads in these tests')

    def read_line(self, image: Image.Image, *, seconds_left: float, alphabet: str = 'vin+ioq') -> list[OcrLine]:
        self.line_reads += 1
        self.crops.append(image.size)
        return [OcrLine(self.text, 0.99, (0, 0, image.width, image.height), (0.99,) * len(self.text))]

    def read_characters(self, images: list[Image.Image], *, seconds_left: float) -> list[tuple[str, float]] | None:
        if self.characters is None:
            return None
        return [(char, 0.99) for char in self.characters[: len(images)]]


def photo_of(text: str) -> tuple[Image.Image, tuple[int, int, int, int]]:
    photo = Image.new('L', (1200, 300), 235)
    draw = ImageDraw.Draw(photo)
    font = ImageFont.truetype(FONT, 40)
    draw.text((100, 120), text, font=font, fill=20)
    left, top, right, bottom = (round(value) for value in draw.textbbox((100, 120), text, font=font))
    return photo, (left, top, right, bottom)


def run_with(first: FakeEngine, second: FakeEngine | None) -> _Run:
    return _Run(engine=first, deadline=time.perf_counter() + 60, timings={}, second=second)


def test_one_recognizer_s_line_reads_alone_do_not_settle_a_vin_without_check_digit() -> None:
    photo, box = photo_of(BR_VIN)
    run = run_with(FakeEngine('eng', BR_VIN), None)

    run.lines('page-otsu', [box], photo)

    assert {reading.kind for reading in run.readings} == {LINE_KIND}
    assert len(run.readings) == 5  # five preparations, one kind
    assert not run.settled


def test_the_second_recognizer_is_asked_until_the_photo_is_settled_and_no_further() -> None:
    photo, box = photo_of(BR_VIN)
    first, second = FakeEngine('eng', BR_VIN), FakeEngine('spa', BR_VIN, characters=BR_VIN)
    run = run_with(first, second)

    run.lines('page-otsu', [box], photo)

    assert first.line_reads == 5
    assert second.line_reads == 1  # one agreeing read of another recognizer settles it
    assert run.settled and run.decision is not None and run.decision.vin == BR_VIN
    assert [reading.source for reading in run.readings if reading.kind == SECOND_LINE_KIND] == ['line1-spa-gray60-vin']
    assert 'second' in run.timings


def test_the_second_recognizer_is_not_asked_when_the_first_settles() -> None:
    photo, box = photo_of(BR_VIN)
    first, second = FakeEngine('eng', BR_VIN, characters=BR_VIN), FakeEngine('spa', BR_VIN)
    run = run_with(first, second)

    run.lines('page-otsu', [box], photo)

    assert run.settled
    assert {reading.kind for reading in run.readings} == {LINE_KIND, CHARS_KIND}
    assert second.line_reads == 0


def test_a_second_recognizer_that_disagrees_keeps_the_photo_unsettled() -> None:
    photo, box = photo_of(BR_VIN)
    misread = BR_VIN[:8] + 'S' + BR_VIN[9:]  # 5 read S at position 9
    second = FakeEngine('spa', misread, characters=misread)
    run = run_with(FakeEngine('eng', BR_VIN), second)

    run.lines('page-otsu', [box], photo)

    assert second.line_reads == 3  # every line read, then the characters: nothing settles it
    assert not run.settled


def test_a_vin_a_later_page_read_locates_wider_is_read_again() -> None:
    """A first page read's word box that fell short of the VIN's end (a blurred last character) must not
    hide the whole VIN another page read located."""
    photo, box = photo_of(BR_VIN)
    left, top, right, bottom = box
    short = (left, top, right - 3 * (bottom - top), bottom)
    first = FakeEngine('eng', BR_VIN)
    run = run_with(first, None)

    run.lines('page-otsu', [short], photo)
    run.lines('page-gray', [box], photo)
    run.lines('page-local', [(left + 2, top, right - 2, bottom)], photo)  # within the whole one: not again

    assert run.cropped == [short, box]


def test_the_default_second_recognizer_is_tesseract_s_spanish_model_and_reads_a_vin_line() -> None:
    if unavailable_reason('spa') is not None:
        pytest.skip(f'the Spanish model is not loadable here: {unavailable_reason("spa")}')
    engine = second_recognizer('tesseract')
    assert isinstance(engine, TesseractEngine) and engine.language == 'spa'
    for_rapidocr = second_recognizer('rapidocr')
    assert for_rapidocr is not None and for_rapidocr.language == 'eng'
    photo, box = photo_of(BR_VIN)

    lines = engine.read_line(line_crop(photo, box, threshold='gray', text_height=60), seconds_left=30, alphabet='vin')

    assert [reading.text for line in lines for reading in readings_of_line(line, source='t', kind='t')] == [BR_VIN]


def test_a_whole_detected_line_is_narrowed_to_its_vin_for_the_reads() -> None:
    """RapidOCR detects whole lines; read with the VIN alphabet, "CHASIS N° 8AG0K1…" comes out glued
    ("CHASISN8AG0K1…", no VIN). The VIN, the line's longest word, is read alone."""
    font = ImageFont.truetype(FONT, 40)
    photo = Image.new('L', (1400, 300), 235)
    draw = ImageDraw.Draw(photo)
    draw.text((60, 120), 'CHASIS N° ' + BR_VIN, font=font, fill=20)
    left, top, right, bottom = (round(value) for value in draw.textbbox((60, 120), 'CHASIS N° ' + BR_VIN, font=font))
    line_box = (left, top, right, bottom)
    vin_left = round(60 + draw.textlength('CHASIS N° ', font=font))

    left, _, right, _ = longest_word(photo, line_box)

    assert vin_left - 5 <= left <= vin_left + 5
    assert right >= line_box[2] - 3
    # A line that is only the VIN, or only short words, is left as it is.
    only_vin, vin_box = photo_of(BR_VIN)
    assert longest_word(only_vin, vin_box) == vin_box
    words, words_box = photo_of('PESO BRUTO 1542 kg')
    assert longest_word(words, words_box) == words_box
