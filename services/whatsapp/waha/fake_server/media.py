"""Bytes the fake gateway serves: the pairing QR as a real PNG, and sample files for customers' media."""

from __future__ import annotations

import io
import secrets

import numpy as np
import zxingcpp
from PIL import Image


def new_qr_value() -> str:
    """Text shaped like WhatsApp Web's pairing QR (`2@ref,publicKey,identityKey,advSecret`)."""
    parts = [secrets.token_urlsafe(48), secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(32)]
    return '2@' + ','.join(parts)


def qr_png(value: str, *, scale: int = 6) -> bytes:
    """`value` as a scannable QR code PNG (zxing-cpp draws it, Pillow encodes it: no extra dependency)."""
    barcode = zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.QRCode)
    pixels = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format='PNG')
    return out.getvalue()


def sample_image(*, format: str = 'JPEG', size: tuple[int, int] = (64, 48)) -> bytes:  # noqa: A002 - Pillow's word
    """A small real picture (a gradient), so a page can show what a customer 'sent'."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (height, 1)), np.tile(y[:, None], (1, width)), np.full((height, width), 128, np.uint8)])
    out = io.BytesIO()
    Image.fromarray(np.moveaxis(rgb, 0, -1)).save(out, format=format)
    return out.getvalue()


# A one-page PDF with no content: enough for a viewer to open it.
SAMPLE_PDF = (
    b'%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n'
    b'3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'
)
# An Ogg page header: the start of a voice note (not playable audio, which the fake never needs).
SAMPLE_OGG = b'OggS\x00\x02' + bytes(20) + b'\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00'
SAMPLE_MP4 = bytes(4) + b'ftypisom\x00\x00\x02\x00isomiso2avc1mp41'

# kind → (mimetype, file name or None, bytes factory); documents keep their name, as WhatsApp does.
SAMPLES: dict[str, tuple[str, str | None]] = {
    'image': ('image/jpeg', None),
    'sticker': ('image/webp', None),
    'video': ('video/mp4', None),
    'audio': ('audio/mpeg', None),
    'voice': ('audio/ogg; codecs=opus', None),
    'document': ('application/pdf', 'presupuesto.pdf'),
}


def sample(kind: str) -> tuple[bytes, str, str | None]:
    """(bytes, mimetype, filename) of a sample file of `kind` (image, sticker, video, audio, voice, document)."""
    mimetype, filename = SAMPLES[kind]
    if kind == 'image':
        content = sample_image()
    elif kind == 'sticker':
        content = sample_image(format='WEBP', size=(64, 64))
    elif kind == 'video':
        content = SAMPLE_MP4
    elif kind in ('voice', 'audio'):
        content = SAMPLE_OGG if kind == 'voice' else b'ID3\x04\x00\x00\x00\x00\x00\x00'
    else:
        content = SAMPLE_PDF
    return content, mimetype, filename


EXTENSIONS = {
    'image/jpeg': 'jpeg',
    'image/png': 'png',
    'image/webp': 'webp',
    'video/mp4': 'mp4',
    'audio/mpeg': 'mp3',
    'audio/ogg': 'oga',
    'application/pdf': 'pdf',
}


def extension_of(mimetype: str) -> str:
    return EXTENSIONS.get(mimetype.split(';', 1)[0].strip().lower(), 'bin')
