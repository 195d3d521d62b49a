"""Files by content (M2): stored once under their SHA-256, with a small JPEG thumbnail for images.

Content addressing makes storage idempotent (a redelivered or re-sent photo is one file) and lets
backups copy `var/media/` incrementally.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = (320, 320)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int
    storage_path: str  # relative to the media root
    thumbnail_path: str | None


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f'media path escapes the media folder: {relative!r}')
        return path

    async def save(self, content: bytes, *, mime_type: str) -> StoredFile:
        return await asyncio.to_thread(self._save, content, mime_type)

    async def read(self, relative: str) -> bytes:
        return await asyncio.to_thread(self.path_of(relative).read_bytes)

    def _save(self, content: bytes, mime_type: str) -> StoredFile:
        digest = hashlib.sha256(content).hexdigest()
        relative = f'{digest[:2]}/{digest[2:4]}/{digest}'
        _write_atomically(self.root / relative, content)
        thumbnail = None
        if mime_type.startswith('image/'):
            thumbnail = f'thumbs/{digest[:2]}/{digest}.jpg'
            if not (self.root / thumbnail).exists() and not _write_thumbnail(content, self.root / thumbnail):
                thumbnail = None
        return StoredFile(sha256=digest, size_bytes=len(content), storage_path=relative, thumbnail_path=thumbnail)


def _write_atomically(path: Path, content: bytes) -> None:
    if path.exists():
        return  # same content, same name: already stored
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a crash never leaves a half-written file under the final (trusted) name.
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(content)
        temporary = Path(handle.name)
    os.replace(temporary, path)


def _write_thumbnail(content: bytes, path: Path) -> bool:
    try:
        with Image.open(io.BytesIO(content)) as original:
            upright = ImageOps.exif_transpose(original)  # phone photos are often stored sideways
            upright.thumbnail(THUMBNAIL_SIZE)
            buffer = io.BytesIO()
            upright.convert('RGB').save(buffer, format='JPEG', quality=80)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        log.warning('no thumbnail: %s', exc)
        return False
    _write_atomically(path, buffer.getvalue())
    return True
