"""Draws the simulator's sample VIN label photo (app/static/simulator/vin-sample.jpg).

A door-jamb style label: maker, the VIN as text and as a Code 39 barcode (as many real labels carry),
photographed slightly rotated on a grey background. The VIN is a valid Brazilian Volkswagen Gol 2015 one
(with a correct check digit, although outside North America none is required), so the pipeline reads it
from the barcode and, without it, from the text.
Run: .venv/bin/python scripts/make_vin_sample.py
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

VIN = '9BWAB45U5FP012345'  # positions 7-8 '5U': a Volkswagen Gol; 'F': 2015
OUT = Path(__file__).resolve().parent.parent / 'app' / 'static' / 'simulator' / 'vin-sample.jpg'
FONTS = Path('/usr/share/fonts/truetype/dejavu')


def code39(vin: str, height: int) -> Image.Image:
    """The VIN as a Code 39 barcode, drawn by zxing-cpp (as many door-jamb labels carry it)."""
    import numpy as np
    import zxingcpp

    drawn = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(vin, zxingcpp.BarcodeFormat.Code39), scale=2)
    bars = Image.fromarray(np.array(drawn))
    return bars.resize((bars.width, height), Image.Resampling.NEAREST).convert('RGB')


def main() -> None:
    label = Image.new('RGB', (1100, 560), (246, 244, 236))
    draw = ImageDraw.Draw(label)
    bold = ImageFont.truetype(str(FONTS / 'DejaVuSans-Bold.ttf'), 34)
    small = ImageFont.truetype(str(FONTS / 'DejaVuSans.ttf'), 24)
    mono = ImageFont.truetype(str(FONTS / 'DejaVuSansMono-Bold.ttf'), 62)
    draw.rectangle([8, 8, 1091, 551], outline=(40, 40, 40), width=4)
    draw.text((40, 30), 'VOLKSWAGEN DO BRASIL', font=bold, fill='black')
    draw.text((40, 80), 'FABRICADO EN: 11/2014   PESO BRUTO: 1480 kg', font=small, fill='black')
    draw.text((40, 140), 'VEHICLE IDENTIFICATION NUMBER / NÚMERO DE CHASIS', font=small, fill='black')
    draw.text((40, 180), VIN, font=mono, fill='black')
    label.paste(code39(VIN, 140), (40, 290))
    draw.text((40, 470), 'MOTOR: CFZ 1.6 8V   COLOR: LB7Z PLATA', font=small, fill='black')

    photo = Image.new('RGB', (1400, 900), (118, 120, 124))
    rotated = label.rotate(-3.5, expand=True, fillcolor=(118, 120, 124), resample=Image.Resampling.BICUBIC)
    photo.paste(rotated, (120, 150))
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    noise = random.Random(7)
    pixels = photo.load()
    assert pixels is not None  # None only for an image without pixel data
    for _ in range(60_000):
        x, y = noise.randrange(photo.width), noise.randrange(photo.height)
        pixel = pixels[x, y]
        assert isinstance(pixel, tuple)  # an RGB image's pixel
        r, g, b = pixel
        delta = noise.randint(-18, 18)
        pixels[x, y] = (max(0, min(255, r + delta)), max(0, min(255, g + delta)), max(0, min(255, b + delta)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    photo.save(OUT, quality=85)
    print(f'{OUT} ({OUT.stat().st_size} bytes), VIN {VIN}')


if __name__ == '__main__':
    main()
