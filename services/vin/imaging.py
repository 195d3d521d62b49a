"""Image preparation for OCR, with Pillow and numpy only (OpenCV is not a dependency of the app).

Tesseract reads best dark text on a light background, characters 20–40 px tall, lines horizontal. Customers'
photos are none of that: big, tilted, glared, sometimes light text on a dark plate. These helpers bring
them there: decode safely, size, grayscale, Otsu and local thresholds, polarity, deskew.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# A WhatsApp photo is at most ~16 MB; 40 Mpx is beyond any phone and keeps decompression bombs out.
MAX_PIXELS = 40_000_000


class UnreadableImage(ValueError):
    """The bytes are not an image Pillow can decode (or are a decompression bomb)."""


def load_grayscale(content: bytes) -> Image.Image:
    """Decode, apply the EXIF orientation (phones store photos sideways), and convert to 8-bit grayscale."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise UnreadableImage(f'image too large: {opened.width}x{opened.height}')
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                if upright.mode in {'RGBA', 'LA', 'P'}:
                    # Transparent areas become white, not black (stickers, screenshots of PNG labels).
                    rgba = upright.convert('RGBA')
                    background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
                    upright = Image.alpha_composite(background, rgba)
                return upright.convert('L')
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
        ValueError,
    ) as exc:
        if isinstance(exc, UnreadableImage):
            raise
        raise UnreadableImage(f'not a readable image: {type(exc).__name__}') from exc


def fit_long_side(image: Image.Image, *, longest: int, upscale_below: int | None = None) -> Image.Image:
    """Downscale so the long side is at most `longest`; upscale small images to `upscale_below` (×2 at most)."""
    long_side = max(image.size)
    if long_side > longest:
        scale = longest / long_side
    elif upscale_below and long_side < upscale_below:
        scale = min(2.0, upscale_below / long_side)
    else:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def otsu_threshold(pixels: np.ndarray) -> int:
    """The gray level that best separates two classes (Otsu 1979)."""
    histogram = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_dark = np.cumsum(histogram)
    weight_light = weight_dark[-1] - weight_dark
    sum_dark = np.cumsum(levels * histogram)
    sum_light = sum_dark[-1] - sum_dark
    with np.errstate(divide='ignore', invalid='ignore'):
        between = weight_dark * weight_light * (sum_dark / weight_dark - sum_light / weight_light) ** 2
    between = np.nan_to_num(between)
    return int(np.argmax(between))


def binarize(image: Image.Image) -> Image.Image:
    """Global Otsu threshold: black ink, white paper (the polarity of `image` is kept)."""
    pixels = np.asarray(image)
    return Image.fromarray(np.where(pixels > otsu_threshold(pixels), 255, 0).astype(np.uint8))


def _box_mean(pixels: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2·radius+1)² window around each pixel (edges repeated), linear time by an integral image."""
    padded = np.pad(pixels, radius + 1, mode='edge')
    integral = padded.cumsum(axis=0).cumsum(axis=1)
    height, width = pixels.shape
    size = 2 * radius + 1
    window_sum = (
        integral[size : size + height, size : size + width]
        - integral[:height, size : size + width]
        - integral[size : size + height, :width]
        + integral[:height, :width]
    )
    return window_sum / (size * size)


def binarize_local(image: Image.Image, *, window_fraction: float = 0.06, offset: int = 12) -> Image.Image:
    """A pixel is ink when darker than its neighbourhood's mean by `offset`: survives glare and shadows that a
    single global threshold turns into black or white blobs."""
    pixels = np.asarray(image, dtype=np.float64)
    mean = _box_mean(pixels, max(4, int(max(image.size) * window_fraction) // 2))
    return Image.fromarray(np.where(pixels < mean - offset, 0, 255).astype(np.uint8))


def is_light_on_dark(image: Image.Image) -> bool:
    """True when the *text* is lighter than what surrounds it (an embossed or laser-marked dark plate).

    Decided where the text is, not by the whole photo: a light label on a dark car body is mostly dark
    pixels, yet its text is dark. Where the local contrast is highest (text strokes and their paper), the
    strokes are the thin minority, far from the local mean on one side: the deviations from the local mean
    are skewed towards the ink's side (negative for dark ink)."""
    small = image.copy()
    small.thumbnail((600, 600))
    pixels = np.asarray(small, dtype=np.float64)
    if pixels.size == 0:
        return False
    radius = max(3, max(small.size) // 60)
    mean = _box_mean(pixels, radius)
    deviation = pixels - mean
    spread = _box_mean(deviation * deviation, radius)
    busy = spread > np.percentile(spread, 85)
    sample = deviation[busy]
    if sample.size < 50:
        return False
    third = float(np.mean(sample**3))
    second = float(np.mean(sample**2))
    return second > 0 and third / second**1.5 > 0


def border_is_dark(image: Image.Image) -> bool:
    """For a crop around one text line: the background is what touches the border."""
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(np.mean(border)) < otsu_threshold(pixels)


def estimate_skew(image: Image.Image, *, max_degrees: float = 20.0) -> float:
    """Rotation (degrees, counter-clockwise) that makes text lines horizontal, by the projection profile:
    rows of a deskewed text block alternate sharply between ink and paper, so the row sums vary the most.

    The ink is found with the local threshold (`binarize_local`), not one global threshold: on a photo of a
    small label on a car body, with glare or uneven light, a global threshold separates the label from its
    surroundings or the bright half of the photo from the dark one — large blobs whose profile does not
    depend on the text's angle (measured: labels turned 8–12° were left as they were)."""
    small = image.copy()
    small.thumbnail((500, 500))
    if is_light_on_dark(small):
        small = ImageOps.invert(small)
    ink = np.asarray(binarize_local(small)) == 0
    mask = Image.fromarray((ink * 255).astype(np.uint8))

    def sharpness(angle: float) -> float:
        rotated = np.asarray(mask.rotate(angle, resample=Image.Resampling.NEAREST), dtype=np.float64)
        profile = rotated.sum(axis=1)
        return float(np.sum(np.diff(profile) ** 2))

    coarse = max(np.arange(-max_degrees, max_degrees + 0.1, 1.5), key=sharpness)
    fine = max(np.arange(coarse - 1.5, coarse + 1.51, 0.25), key=sharpness)
    return float(fine)


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    if abs(degrees) < 0.25:
        return image
    # The corners the rotation uncovers get the image's median gray, so they read as neither ink nor paper edge.
    fill = int(np.median(np.asarray(image)))
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def pad(image: Image.Image, pixels: int, *, fill: int = 255) -> Image.Image:
    return ImageOps.expand(image, border=pixels, fill=fill)
