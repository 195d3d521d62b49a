"""Reads the VIN of every inbound image once its file is stored (V1, V3), in the background.

Woken by `message.status` events carrying `media_status: stored` (the media downloader publishes them);
polls every few seconds as the safety net. Per image: claim (insert the reading as `processing`), reuse the
cached scan of the same sha256 or run the pipeline in the process pool, match part codes in the OCR'd text,
finish the reading, publish `vin.read` after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from .. import metrics
from ..database import Database
from ..events import MESSAGE_STATUS, Event, EventPublisher
from ..media_store import MediaStore
from ..workers import BackgroundWorker
from .part_codes import match_part_codes
from .readings import PendingImage, cached_scan, claim, finish_reading, pending_images, release_stale_claims, save_scan
from .runner import HARD_LIMIT_SLACK_SECONDS, VinReader

log = logging.getLogger(__name__)


def wakes_vin_worker(event: Event) -> bool:
    """The event bus filter: a stored inbound file may be a photo to read."""
    return event.kind == MESSAGE_STATUS and event.data.get('media_status') == 'stored'


class VinWorker(BackgroundWorker):
    name = 'vin-reader'

    def __init__(
        self,
        db: Database,
        *,
        reader: VinReader,
        store: MediaStore,
        publisher: EventPublisher,
        idle_poll_seconds: float = 10.0,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.reader = reader
        self.store = store
        self.publisher = publisher
        self.pipeline_runs = 0  # readings that needed the OCR (not served from the cache)

    def on_event(self, event: Event) -> None:
        if wakes_vin_worker(event):
            self.wake()

    async def on_start(self) -> None:
        await self.release_stale()

    async def release_stale(self) -> int:
        # A claim older than a reading can take belongs to a worker that died: read that photo again.
        return await release_stale_claims(
            self.db, older_than=timedelta(seconds=3 * (self.reader.timeout_seconds + HARD_LIMIT_SLACK_SECONDS))
        )

    async def run_round(self) -> None:
        await self.drain()

    async def drain(self) -> int:
        """Read every pending image; returns how many readings were finished."""
        done = 0
        while True:
            pending = await pending_images(self.db, limit=max(1, self.reader.workers) * 2)
            claimed = [image for image in pending if await claim(self.db, image)]
            if not pending:
                return done
            if claimed:
                await asyncio.gather(*(self._process(image) for image in claimed))
                done += len(claimed)

    async def _process(self, image: PendingImage) -> None:
        try:
            await self._read(image)
        except Exception as exc:  # a disk or database error must not stop the readings of every later photo
            log.exception('VIN reading of message %s failed', image.message_id)
            await finish_reading(
                self.db, image=image, scan=None, part_codes=[], error=type(exc).__name__, publisher=self.publisher
            )

    async def _read(self, image: PendingImage) -> None:
        scan = await cached_scan(self.db, sha256=image.sha256, engine=self.reader.engine)
        error = ''
        if scan is None:
            content = await self.store.read(image.storage_path)
            self.pipeline_runs += 1
            result = await self.reader.read(content)
            error = result.error
            # A timeout or a crashed OCR process says nothing about the image: not cached, marked failed.
            if error not in {'timeout', 'ocr process crashed'}:
                scan = await save_scan(self.db, sha256=image.sha256, result=result)
        codes = [match.code for match in await match_part_codes(self.db, texts=scan.text_lines)] if scan else []
        metrics.record_vin_read(scan.status if scan is not None else (error or 'failed'))
        await finish_reading(
            self.db,
            image=image,
            scan=scan,
            part_codes=codes,
            error=error or (scan.error if scan else ''),
            publisher=self.publisher,
        )
