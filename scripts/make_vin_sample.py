"""Draws the simulator's sample VIN label photo (app/static/simulator/vin-sample.jpg).

A door-jamb style label: maker, the VIN as text and as a Code 39 barcode (as many real labels carry),
photographed slightly rotated on a grey background. The VIN is valid, including its check digit.
Run: .venv/bin/python scripts/make_vin_sample.py
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

VIN = '9BWAB1GU0FP012345'
OUT = Path(__file__).resolve().parent.parent / 'app' / 'static' / 'simulator' / 'vin-sample.jpg'
FONTS = Path('/usr/share/fonts/truetype/dejavu')

# Code 39: 9 elements per character (bar, space, bar, …), 'w' wide and 'n' narrow.
CODE39 = {
    '0': 'nnnwwnwnn', '1': 'wnnwnnnnw', '2': 'nnwwnnnnw', '3': 'wnwwnnnnn', '4': 'nnnwwnnnw', '5': 'wnnwwnnnn',
    '6': 'nnwwwnnnn', '7': 'nnnwnnwnw', '8': 'wnnwnnwnn', '9': 'nnwwnnwnn', 'A': 'wnnnnwnnw', 'B': 'nnwnnwnnw',
    'C': 'wnwnnwnnn', 'D': 'nnnnwwnnw', 'E': 'wnnnwwnnn', 'F': 'nnwnwwnnn', 'G': 'nnnnnwwnw', 'H': 'wnnnnwwnn',
    'J': 'nnnnwwwnn', 'K': 'wnnnnnnww', 'L': 'nnwnnnnww', 'M': 'wnwnnnnwn', 'N': 'nnnnwnnww', 'P': 'nnwnwnnwn',
    'R': 'wnnnnnwwn', 'S': 'nnwnnnwwn', 'T': 'nnnnwnwwn', 'U': 'wwnnnnnnw', 'V': 'nwwnnnnnw', 'W': 'wwwnnnnnn',
    'X': 'nwnnwnnnw', 'Y': 'wwnnwnnnn', 'Z': 'nwwnwnnnn', '*': 'nwnnwnwnn',
}


def code39(draw: ImageDraw.ImageDraw, text: str, x: int, y: int, height: int, narrow: int = 3) -> None:
    for char in f'*{text}*':
        for index, element in enumerate(CODE39[char]):
            width = narrow * 3 if element == 'w' else narrow
            if index % 2 == 0:
                draw.rectangle([x, y, x + width - 1, y + height], fill='black')
            x += width
        x += narrow  # gap between characters


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
    code39(draw, VIN, 40, 290, 140)
    draw.text((40, 470), 'MOTOR: CFZ 1.6 8V   COLOR: LB7Z PLATA', font=small, fill='black')

    photo = Image.new('RGB', (1400, 900), (118, 120, 124))
    rotated = label.rotate(-3.5, expand=True, fillcolor=(118, 120, 124), resample=Image.Resampling.BICUBIC)
    photo.paste(rotated, (120, 150))
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    noise = random.Random(7)
    pixels = photo.load()
    for _ in range(60_000):
        x, y = noise.randrange(photo.width), noise.randrange(photo.height)
        r, g, b = pixels[x, y]
        delta = noise.randint(-18, 18)
        pixels[x, y] = (max(0, min(255, r + delta)), max(0, min(255, g + delta)), max(0, min(255, b + delta)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    photo.save(OUT, quality=85)
    print(f'{OUT} ({OUT.stat().st_size} bytes), VIN {VIN}')


if __name__ == '__main__':
    main()
