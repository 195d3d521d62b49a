"""The pipeline on images: the synthetic set, the sample photo, barcodes, unreadable files, the time limit."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from scripts.make_vin_dataset import Sample
from services.vin.pipeline import barcode_candidates, read_vin
from services.vin.validation import VinStatus, validate_vin

from .conftest import SAMPLE_VIN


def test_the_sample_photo_is_read_from_its_barcode_and_decoded(sample_photo: bytes) -> None:
    result = read_vin(sample_photo)

    assert (result.vin, result.status, result.source) == (SAMPLE_VIN, VinStatus.UNVERIFIED, 'barcode')
    assert result.vehicle is not None
    assert result.vehicle['label'] == 'Volkswagen Gol / Voyage / Saveiro 2015'


def test_a_sample_of_the_synthetic_set_is_read_without_a_wrong_vin(synthetic_set: list[Sample]) -> None:
    """OCR only (barcodes ignored), so the text path is what is tested; a generous time budget, since
    the timing targets are the benchmark's business (bench/vin_ocr.py), not this test's."""
    sample = synthetic_set[:12]
    results = [read_vin(item.image, barcodes=False, time_budget=120) for item in sample]

    exact = [item.file for item, result in zip(sample, results, strict=True) if result.vin == item.vin]
    wrong = [
        (item.file, item.vin, result.vin)
        for item, result in zip(sample, results, strict=True)
        if result.vin is not None and result.vin != item.vin
    ]
    assert wrong == []
    assert len(exact) >= 9, f'only {exact} read right'
    north_american = [
        result for item, result in zip(sample, results, strict=True) if item.north_american and result.vin == item.vin
    ]
    assert north_american
    assert all(result.status == VinStatus.VERIFIED for result in north_american)


def test_labels_with_a_barcode_are_read_from_it(synthetic_set: list[Sample]) -> None:
    with_barcode = [item for item in synthetic_set if item.barcode][:4]
    assert len(with_barcode) >= 3

    results = [read_vin(item.image, time_budget=60) for item in with_barcode]

    # A blurred barcode may be unreadable (then the text is read): never a wrong VIN, mostly from the bars.
    assert all(result.vin in {item.vin, None} for item, result in zip(with_barcode, results, strict=True))
    assert sum(result.source == 'barcode' for result in results) >= len(with_barcode) // 2


def test_an_image_without_a_vin_gives_none_and_says_why(synthetic_set: list[Sample]) -> None:
    blank = next(item for item in synthetic_set if item.vin is None)

    result = read_vin(blank.image, time_budget=60)

    assert (result.vin, result.status, result.confidence) == (None, VinStatus.NONE, 0.0)


def test_code39_import_prefix_is_dropped_and_barcode_text_is_not_mapped() -> None:
    assert [c.text for c in barcode_candidates('I1HGCM82633A004352')] == ['1HGCM82633A004352']
    # A barcode is exact: an O in it means it is no VIN, not a 0.
    assert [validate_vin(c.text).valid for c in barcode_candidates('1HGCM82633AO04352')] == [False]


def test_bytes_that_are_no_image_are_a_clear_failure() -> None:
    result = read_vin(b'%PDF-1.7 not an image')

    assert result.status == VinStatus.NONE
    assert 'not a readable image' in result.error


def test_the_time_budget_stops_the_ocr(synthetic_set: list[Sample]) -> None:
    hard = next(item for item in synthetic_set if item.vin and not item.barcode)

    result = read_vin(hard.image, barcodes=False, time_budget=0.05)

    assert result.error == 'timeout'
    assert result.seconds < 5


@pytest.mark.parametrize('mode', ['RGBA', 'P', 'L'])
def test_any_image_mode_is_accepted(mode: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (300, 200)).save(buffer, format='PNG')

    result = read_vin(buffer.getvalue(), time_budget=30)

    assert (result.vin, result.error) == (None, '')


def stamped_plate(vin: str) -> bytes:
    """A VIN stamped into a chassis as phones photograph it: characters in relief on grainy grey metal (lit on
    one edge, shadowed on the other), framed by stars, a little tilted. Tesseract reads nothing usable on it."""
    from PIL import ImageDraw, ImageFilter, ImageFont

    from scripts.make_vin_dataset import FONT_DIR

    rng = random.Random(4)
    plate = Image.new('L', (1400, 420), 128)
    font = ImageFont.truetype(str(FONT_DIR / 'DejaVuSansMono-Bold.ttf'), 72)
    ImageDraw.Draw(plate).text((60, 170), f'*{vin}*', fill=200, font=font)
    plate = plate.filter(ImageFilter.EMBOSS)
    pixels = plate.load()
    assert pixels is not None
    for _ in range(120_000):  # the metal's grain
        x, y = rng.randrange(1400), rng.randrange(420)
        pixels[x, y] = max(0, min(255, int(pixels[x, y]) + rng.randrange(-35, 35)))  # type: ignore[arg-type]
    photo = plate.filter(ImageFilter.GaussianBlur(1.5)).rotate(3, expand=True, fillcolor=120)
    buffer = io.BytesIO()
    photo.convert('RGB').save(buffer, format='JPEG', quality=85)
    return buffer.getvalue()


def test_a_vin_stamped_in_metal_is_read_by_the_detector_and_given_unverified(monkeypatch: pytest.MonkeyPatch) -> None:
    vin = 'LMGKT1G80N1145942'  # Chinese maker: no check digit required; this one has it right
    photo = stamped_plate(vin)

    result = read_vin(photo, time_budget=60)
    # Only the detector reads the relief: taken, but unverified — the bot asks the customer to confirm it.
    assert (result.vin, result.status) == (vin, VinStatus.UNVERIFIED)

    monkeypatch.setattr('services.vin.pipeline.rapidocr_available', lambda: False)
    assert read_vin(photo, time_budget=60).vin is None  # pipeline version 3, Tesseract alone: "no VIN"
