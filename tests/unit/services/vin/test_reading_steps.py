"""The steps between a photo and the reads: polarity, the main text row, characters, both Tesseract paths."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from services.vin.engines import TesseractEngine
from services.vin.imaging import estimate_skew, is_light_on_dark
from services.vin.pipeline import character_boxes, crop_columns, line_crop, readings_of_line, text_row
from services.vin.tesseract_api import unavailable_reason

FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf'
VIN = '1FADTJTY3E8239802'


def label(text: str = VIN, *, size: int = 40, caption: str = '') -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Dark text on a light label, the label small on a dark car body; and the box of the VIN (+ caption)."""
    font = ImageFont.truetype(FONT, size)
    photo = Image.new('L', (1400, 900), 70)
    draw = ImageDraw.Draw(photo)
    draw.rectangle((300, 300, 1150, 560), fill=235)
    top = 380
    if caption:
        draw.text((340, 330), caption, font=ImageFont.truetype(FONT, 18), fill=20)
    draw.text((340, top), text, font=font, fill=20)
    left, box_top, right, bottom = (round(value) for value in draw.textbbox((340, top), text, font=font))
    return photo, (left, 325 if caption else box_top, right, bottom)


def test_a_light_label_on_a_dark_car_body_is_dark_text_and_a_dark_plate_is_light_text() -> None:
    photo, _ = label()
    assert not is_light_on_dark(photo)  # most pixels are dark, yet the text is dark on light
    assert is_light_on_dark(ImageOps.invert(photo))


def test_a_word_box_spanning_a_caption_is_narrowed_to_the_vin_row() -> None:
    photo, box = label(caption='VIN:')
    left, top, right, bottom = text_row(photo, box)

    assert top > box[1] + 20  # the caption row above is left out
    assert (left, right) == (box[0], box[2])
    assert 25 <= bottom - top <= 45  # about the height of the VIN's capitals (a 40 px font)


def test_a_vin_with_gaps_between_characters_is_cut_into_17() -> None:
    photo, box = label()
    crop = line_crop(photo, box, threshold='otsu', text_height=44)

    assert len(character_boxes(crop)) == 17
    assert (
        character_boxes(
            line_crop(
                photo, (box[0], box[1], box[0] + (box[2] - box[0]) // 2, box[3]), threshold='otsu', text_height=44
            )
        )
        == []
    )  # half a VIN is no VIN


def engines() -> list[TesseractEngine]:
    found = [TesseractEngine(in_process=False)]
    if unavailable_reason() is None:
        found.append(TesseractEngine())
    return found


@pytest.mark.parametrize('engine', engines(), ids=lambda engine: 'in-process' if engine.in_process else 'command')
def test_both_tesseract_paths_read_a_vin_line_with_character_confidences(engine: TesseractEngine) -> None:
    photo, box = label()
    crop = line_crop(photo, box, threshold='gray', text_height=60)

    lines = engine.read_line(crop, seconds_left=30, alphabet='vin')
    readings = [reading for line in lines for reading in readings_of_line(line, source='test', kind='gray')]

    assert [reading.text for reading in readings] == [VIN]
    assert len(readings[0].confidences) == 17
    assert all(0.0 <= confidence <= 1.0 for confidence in readings[0].confidences)


def test_the_in_process_engine_reads_characters_alone() -> None:
    if unavailable_reason() is not None:
        pytest.skip(f'libtesseract not loadable here: {unavailable_reason()}')
    photo, box = label()
    crop = line_crop(photo, box, threshold='otsu', text_height=44)
    boxes = character_boxes(crop)
    characters = [ImageOps.expand(crop.crop(one), border=10, fill=255) for one in boxes]

    read = TesseractEngine().read_characters(characters, seconds_left=30)

    assert read is not None
    assert ''.join(char for char, _ in read) == VIN


# --- pipeline version 3 ---------------------------------------------------------------------------------


def test_a_crop_never_cuts_a_character_in_two() -> None:
    """A page read's word box that starts inside the first character, or a margin that reaches into the
    neighbouring one: cut in half, an 8 reads 3 and a 9 reads 6 in every read of the crop."""
    font = ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 40)
    photo = Image.new('L', (1400, 300), 235)
    draw = ImageDraw.Draw(photo)
    draw.text((100, 120), 'VIN 8DDTF9HCXBK177565', font=font, fill=20)
    top, bottom = (round(value) for value in draw.textbbox((100, 120), '8', font=font)[1::2])
    columns = (np.asarray(photo)[top:bottom] < 128).any(axis=0)
    assert isinstance(columns, np.ndarray)
    starts = [x for x in range(1, len(columns)) if columns[x] and not columns[x - 1]]
    ends = [x for x in range(1, len(columns)) if columns[x - 1] and not columns[x]]
    eight = (starts[3], ends[3])  # V, I, N, then the 8
    next_start = starts[4]
    assert next_start - eight[1] >= 3  # a gap between the 8 and the D

    # The box starts in the middle of the 8: the crop starts before all of it, and not in the caption.
    left, _ = crop_columns(photo, ((eight[0] + eight[1]) // 2, top, next_start + 600, bottom))
    assert ends[2] < left < eight[0]

    # The box starts at the D, just right of the 8: the margin stops before the 8's ink.
    left, _ = crop_columns(photo, (next_start, top, next_start + 600, bottom))
    assert eight[1] <= left <= next_start


def test_the_skew_of_a_small_turned_label_under_glare_is_found() -> None:
    """A light label turned 10° on a dark, unevenly lit car body: one global threshold splits the photo into
    light and dark halves and finds no angle; the local threshold finds the text's."""
    font = ImageFont.truetype(FONT, 26)
    label_image = Image.new('L', (700, 260), 240)
    draw = ImageDraw.Draw(label_image)
    for row, text in enumerate(
        [
            'VOLKSWAGEN ARGENTINA S.A.',
            'VIN 8AWZZZ5UZFA123456',
            'PESO BRUTO 1542 kg',
            'MOTOR CFZ 1.6',
            'FABRICADO EN 03/2015',
        ]
    ):
        draw.text((20, 15 + 48 * row), text, font=font, fill=30)
    turned = label_image.rotate(10, expand=True, resample=Image.Resampling.BICUBIC, fillcolor=70)
    width, height = 1600, 1100
    yy, xx = np.mgrid[0:height, 0:width]
    light = 70 + 0.05 * xx + 120 * np.exp(-((yy - 250) ** 2 + (xx - 1200) ** 2) / (2 * 350**2))
    photo = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8))
    photo.paste(turned, (850, 150))

    assert abs(estimate_skew(photo) - -10) <= 1.5
