"""A synthetic set of VIN label photos with ground truth, for the VIN pipeline's tests and bench/vin_ocr.py.

Labels are drawn with Pillow in the fonts this machine has (DejaVu Sans/Mono/Serif/Condensed, Pillow's own
default font as fallback), with the distractor text real labels carry (maker, dates, weights, paint and engine
codes, part numbers), some with the VIN as a barcode (Code 39, Code 128, DataMatrix, written by zxing-cpp),
then photographed badly: rotation, perspective, blur, noise, low contrast, glare, light-on-dark metal plates,
JPEG compression, big phone-sized images. A few images have no VIN at all.

VINs are generated properly: real WMIs, model-year code consistent with the position-7 rule for North
America, correct check digits for North-American VINs (and for some others, as many makers compute it
everywhere), numeric serials.

Same seed, same set (every choice comes from one `random.Random`).
Run: .venv/bin/python scripts/make_vin_dataset.py --out var/vin-dataset --count 120 [--seed 7]
It writes the images and `truth.json`: [{"file", "vin" (null when none), "north_american", "barcode", "traits"}].
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from services.vin.validation import VIN_ALPHABET, YEAR_CODES, with_check_digit  # noqa: E402

FONT_DIR = Path('/usr/share/fonts/truetype/dejavu')
FONT_FILES = (
    'DejaVuSansMono-Bold.ttf',
    'DejaVuSansMono.ttf',
    'DejaVuSans-Bold.ttf',
    'DejaVuSans.ttf',
    'DejaVuSansCondensed-Bold.ttf',
    'DejaVuSerif-Bold.ttf',
    'DejaVuSerifCondensed.ttf',
)
NORTH_AMERICAN_WMIS = (
    '1HG',
    '1G1',
    '1FA',
    '1FT',
    '2T1',
    '2HG',
    '3VW',
    '3N1',
    '3FA',
    '3G1',
    '4T1',
    '5YJ',
    '5FN',
    '1N4',
    '3GN',
    '2FM',
)
OTHER_WMIS = (
    '9BW',
    '8AW',
    '8AP',
    '9BD',
    '8AG',
    '9BG',
    '8AJ',
    '9BR',
    '8AD',
    '8A1',
    '93Y',
    '8AF',
    '9BF',
    '93H',
    'VF1',
    'VF3',
    'WVW',
    'WBA',
    'WDD',
    'ZFA',
    'JTD',
    'KMH',
    'LSV',
    'TMB',
    'VSS',
)
MAKER_TEXT = {
    '9BW': 'VOLKSWAGEN DO BRASIL',
    '8AW': 'VOLKSWAGEN ARGENTINA S.A.',
    '8AP': 'FIAT AUTO ARGENTINA S.A.',
    '9BD': 'FIAT AUTOMOVEIS S.A.',
    '8AG': 'GENERAL MOTORS DE ARGENTINA',
    '9BG': 'GENERAL MOTORS DO BRASIL',
    '8AJ': 'TOYOTA ARGENTINA S.A.',
    '9BR': 'TOYOTA DO BRASIL',
    '8AD': 'PEUGEOT CITROEN ARGENTINA',
    '8A1': 'RENAULT ARGENTINA S.A.',
    '93Y': 'RENAULT DO BRASIL',
    '8AF': 'FORD ARGENTINA S.C.A.',
    '9BF': 'FORD MOTOR COMPANY BRASIL',
    '93H': 'HONDA AUTOMOVEIS DO BRASIL',
    'VF1': 'RENAULT S.A.S. FRANCE',
    'VF3': 'PEUGEOT S.A.',
    'WVW': 'VOLKSWAGEN AG',
    'WBA': 'BMW AG',
    'WDD': 'MERCEDES-BENZ AG',
    'ZFA': 'FCA ITALY S.P.A.',
    'JTD': 'TOYOTA MOTOR CORPORATION',
    'KMH': 'HYUNDAI MOTOR COMPANY',
    'LSV': 'SAIC VOLKSWAGEN',
    'TMB': 'SKODA AUTO A.S.',
    'VSS': 'SEAT S.A.',
}
LETTERS = [char for char in VIN_ALPHABET if char.isalpha()]
DIGITS = '0123456789'
SAMPLE_VIN = '9BWAB45U5FP012345'  # the simulator's sample photo: a 2015 Volkswagen Gol from Brazil


@dataclass
class Sample:
    file: str
    vin: str | None
    north_american: bool
    barcode: str  # '' or the barcode format drawn
    traits: list[str] = field(default_factory=list)
    image: bytes = b''


def make_vin(rng: random.Random, *, north_american: bool) -> str:
    """A VIN as a maker would issue it (see the module docstring)."""
    wmi = rng.choice(NORTH_AMERICAN_WMIS if north_american else OTHER_WMIS)
    year = rng.randint(1995, 2025)
    year_code = YEAR_CODES[(year - 1980) % 30]
    vds = [rng.choice(VIN_ALPHABET) for _ in range(5)]
    # Position 7 tells North-American decoders the cycle: digit for 1980-2009, letter for 2010-2039.
    if north_american or rng.random() < 0.5:
        vds[3] = rng.choice(DIGITS) if year < 2010 else rng.choice(LETTERS)
    plant = rng.choice(VIN_ALPHABET)
    serial = ''.join(rng.choice(DIGITS) for _ in range(6))
    vin = f'{wmi}{"".join(vds)}0{year_code}{plant}{serial}'
    if north_american or rng.random() < 0.5:
        return with_check_digit(vin)
    return vin[:8] + rng.choice('0123456789Z') + vin[9:]


def _scaled(value: int, factor: float) -> int:
    """One channel value scaled by `factor` (a colour tint), kept within 0–255."""
    return min(255, int(value * factor))


def _font(rng: random.Random, size: int, names: tuple[str, ...] = FONT_FILES) -> ImageFont.FreeTypeFont:
    available = [FONT_DIR / name for name in names if (FONT_DIR / name).exists()]
    if not available:
        return _bundled_font(size)  # the set still renders anywhere
    if rng.random() < 0.12:
        return _bundled_font(size)
    return ImageFont.truetype(str(rng.choice(available)), size)


def _bundled_font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    # Pillow's bundled font; a bitmap font only if Pillow was built without FreeType (every wheel has it).
    assert isinstance(font, ImageFont.FreeTypeFont)
    return font


def _barcode(vin: str, kind: str, height: int) -> Image.Image:
    import zxingcpp

    formats = {
        'code39': zxingcpp.BarcodeFormat.Code39,
        'code128': zxingcpp.BarcodeFormat.Code128,
        'datamatrix': zxingcpp.BarcodeFormat.DataMatrix,
    }
    # Narrow bars of 3 px: a phone photo of a door-jamb label resolves them at least that well.
    drawn = zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode(vin, formats[kind]), scale=4 if kind == 'datamatrix' else 3
    )
    image = Image.fromarray(np.array(drawn))
    if kind == 'datamatrix':
        return image.resize((height, height * image.height // image.width), Image.Resampling.NEAREST)
    return image.resize((image.width, height), Image.Resampling.NEAREST)


def _distractors(rng: random.Random) -> list[str]:
    lines = [
        f'FABRICADO EN: {rng.randint(1, 12):02d}/{rng.randint(2005, 2024)}',
        f'PESO BRUTO: {rng.randint(900, 3200)} kg',
        f'MOTOR: {"".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(3))} {rng.choice(["1.4", "1.6", "2.0"])}',
        f'COLOR: {rng.choice(["LB7Z", "LA7W", "L041", "LC9X"])} {rng.choice(["PLATA", "BLANCO", "NEGRO", "ROJO"])}',
        f'EJE DEL. {rng.randint(700, 1400)} kg   EJE TRAS. {rng.randint(700, 1400)} kg',
        f'REF. {rng.randint(1, 9)}{rng.choice("UKZ")}{rng.randint(0, 9)} {rng.randint(100, 999)} '
        f'{rng.randint(100, 999)} {rng.choice("ABCDE")}',
        f'TIPO: {rng.choice(["M1", "N1", "L7"])}  N° HOMOL. {rng.randint(10000, 99999)}',
    ]
    rng.shuffle(lines)
    return lines[: rng.randint(2, 5)]


def _label(rng: random.Random, vin: str | None, wmi: str, barcode: str, dark: bool) -> Image.Image:
    width = rng.randint(900, 1300)
    vin_size = rng.randint(34, 70)
    text_size = rng.randint(20, 30)
    paper = rng.randint(215, 250)
    ink = rng.randint(10, 60)
    if dark:
        paper, ink = rng.randint(25, 70), rng.randint(190, 240)
    lines: list[tuple[str, ImageFont.FreeTypeFont]] = []
    maker_font = _font(rng, text_size + 8, ('DejaVuSans-Bold.ttf', 'DejaVuSerif-Bold.ttf'))
    lines.append((MAKER_TEXT.get(wmi, 'AUTOMOTORES S.A.'), maker_font))
    small = _font(rng, text_size)
    distractors = _distractors(rng)
    lines.extend((text, small) for text in distractors[:2])
    vin_font = _font(rng, vin_size)
    if vin is not None:
        caption = rng.choice(['VIN', 'VIN:', 'NÚMERO DE CHASIS', 'VEHICLE IDENTIFICATION NUMBER', 'CHASIS N°'])
        if rng.random() < 0.4:
            lines.append((f'{caption} {vin}', vin_font))
        else:
            lines.append((caption, small))
            lines.append((vin, vin_font))
    lines.extend((text, small) for text in distractors[2:])
    height = 60 + sum(round(font.size * 1.6) for _, font in lines) + (150 if barcode else 0)
    widest = max(ImageDraw.Draw(Image.new('L', (1, 1))).textlength(text, font=font) for text, font in lines)
    width = max(width, int(widest) + 80)
    label = Image.new('L', (width, height), paper)
    draw = ImageDraw.Draw(label)
    draw.rectangle([6, 6, width - 7, height - 7], outline=ink, width=3)
    y = 30
    for text, font in lines:
        draw.text((40, y), text, font=font, fill=ink)
        y += round(font.size * 1.6)
        if barcode and vin is not None and text == vin:
            code = _barcode(vin, barcode, 110)
            if dark:
                code = Image.eval(code, lambda value: ink if value < 128 else paper)
            label.paste(code, (40, y))
            y += 150
    if barcode and vin is not None and not any(text == vin for text, _ in lines):
        code = _barcode(vin, barcode, 110)
        label.paste(code, (40, y))
    return label


def _perspective(image: Image.Image, rng: random.Random, strength: float, fill: int) -> Image.Image:
    """A plausible phone-camera tilt: the four corners pulled by up to `strength` of the size."""
    width, height = image.size
    dx, dy = width * strength, height * strength
    corners = [
        (rng.uniform(0, dx), rng.uniform(0, dy)),
        (width - rng.uniform(0, dx), rng.uniform(0, dy)),
        (width - rng.uniform(0, dx), height - rng.uniform(0, dy)),
        (rng.uniform(0, dx), height - rng.uniform(0, dy)),
    ]
    source = [(0, 0), (width, 0), (width, height), (0, height)]
    matrix = []
    for (x, y), (u, v) in zip(corners, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    targets = np.array([coordinate for point in source for coordinate in point], dtype=np.float64)
    coefficients = np.linalg.solve(np.array(matrix, dtype=np.float64), targets)
    return image.transform(
        image.size, Image.Transform.PERSPECTIVE, tuple(coefficients), resample=Image.Resampling.BICUBIC, fillcolor=fill
    )


def _photograph(rng: random.Random, label: Image.Image, traits: list[str]) -> Image.Image:
    background = rng.randint(60, 170)
    if rng.random() < 0.15:
        traits.append('low-contrast')
        label = Image.eval(label, lambda value: int(110 + value * 0.35))
    angle = rng.uniform(-12, 12) if rng.random() < 0.6 else rng.uniform(-2, 2)
    if abs(angle) > 4:
        traits.append(f'rotated{angle:+.0f}')
    label = label.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC, fillcolor=background)
    if rng.random() < 0.35:
        traits.append('perspective')
        label = _perspective(label, rng, rng.uniform(0.03, 0.09), background)
    fill = rng.uniform(0.45, 0.9)
    photo_width = int(label.width / fill)
    photo_height = int(max(label.height / fill, photo_width * rng.uniform(0.6, 0.8)))
    photo = Image.new('L', (photo_width, photo_height), background)
    photo.paste(label, (rng.randint(0, photo_width - label.width), rng.randint(0, photo_height - label.height)))
    pixels = np.asarray(photo, dtype=np.float64)
    if rng.random() < 0.2:
        traits.append('glare')
        cy, cx = rng.uniform(0, photo_height), rng.uniform(0, photo_width)
        radius = rng.uniform(0.2, 0.45) * photo_width
        yy, xx = np.mgrid[0:photo_height, 0:photo_width]
        pixels += rng.uniform(60, 110) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    gradient = np.linspace(rng.uniform(-25, 0), rng.uniform(0, 25), photo_width)[None, :]
    pixels += gradient  # uneven light across the label
    noise_level = rng.uniform(2, 12)
    pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, noise_level, pixels.shape)
    if noise_level > 9:
        traits.append('noisy')
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    blur = rng.choice([0.0, 0.5, 0.8, 1.2, 1.6])
    if blur:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
        if blur >= 1.2:
            traits.append('blurred')
    scale = rng.choice([0.8, 1.0, 1.0, 1.4, 2.2])  # some phone-sized photos (~3000 px) exercise the downscaling
    if scale != 1.0:
        photo = photo.resize((int(photo.width * scale), int(photo.height * scale)), Image.Resampling.BICUBIC)
    tint = rng.choice([(1.0, 1.0, 1.0), (1.05, 1.0, 0.92), (0.95, 1.0, 1.06)])
    rgb = Image.merge('RGB', [Image.eval(photo, partial(_scaled, factor=k)) for k in tint])
    return rgb


def generate(count: int, *, seed: int = 7) -> list[Sample]:
    """`count` samples: ~7 % without a VIN, ~40 % North-American, ~30 % with a barcode."""
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        traits: list[str] = []
        has_vin = rng.random() >= 0.07
        north_american = has_vin and rng.random() < 0.4
        vin = make_vin(rng, north_american=north_american) if has_vin else None
        wmi = vin[:3] if vin else rng.choice(OTHER_WMIS)
        barcode = rng.choice(['code39', 'code128', 'datamatrix']) if vin and rng.random() < 0.3 else ''
        dark = rng.random() < 0.15
        if dark:
            traits.append('light-on-dark')
        label = _label(rng, vin, wmi, barcode, dark)
        photo = _photograph(rng, label, traits)
        buffer = io.BytesIO()
        photo.save(buffer, format='JPEG', quality=rng.randint(60, 92))
        samples.append(
            Sample(
                file=f'vin-{index:03d}.jpg',
                vin=vin,
                north_american=north_american,
                barcode=barcode,
                traits=traits,
                image=buffer.getvalue(),
            )
        )
    return samples


def write(samples: list[Sample], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (out / sample.file).write_bytes(sample.image)
    truth = [{key: value for key, value in asdict(sample).items() if key != 'image'} for sample in samples]
    (out / 'truth.json').write_text(json.dumps(truth, indent=1) + '\n')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=REPO_ROOT / 'var' / 'vin-dataset')
    parser.add_argument('--count', type=int, default=120)
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args(argv)
    samples = generate(args.count, seed=args.seed)
    write(samples, args.out)
    with_vin = sum(1 for sample in samples if sample.vin)
    print(
        f'{len(samples)} images ({with_vin} with a VIN, {sum(1 for s in samples if s.barcode)} with a barcode) '
        f'in {args.out}'
    )


if __name__ == '__main__':
    main()
