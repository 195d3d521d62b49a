"""Downloads inbound media in the background (M2): `GET /{media-id}` → short-lived URL → download with the
bearer token, size limit enforced while streaming, SHA-256 checked, stored by content, thumbnail made.

Meta's URLs expire after 5 minutes, so downloads start as soon as the message is stored (woken by the
`message.created` event) instead of when someone opens the chat.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging

from sqlalchemy import update
from sqlmodel import col, select

from ..database import Database
from ..events import MESSAGE_STATUS, Event, EventPublisher
from ..media_store import MediaStore
from ..models import Conversation, Media, Message
from ..workers import BackgroundWorker
from .graph_client import GraphClient, GraphError

log = logging.getLogger(__name__)


def sha256_matches(content: bytes, expected: str | None) -> bool:
    """Meta sends the hash hex-encoded in some places and base64-encoded in others; accept either."""
    if not expected:
        return True
    digest = hashlib.sha256(content).digest()
    return expected.strip() in {digest.hex(), base64.b64encode(digest).decode()}


class MediaDownloader(BackgroundWorker):
    name = 'media-download'

    def __init__(self, db: Database, *, client: GraphClient, store: MediaStore, publisher: EventPublisher,
                 max_bytes: int, attempts: int = 3, idle_poll_seconds: float = 5.0) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.client = client
        self.store = store
        self.publisher = publisher
        self.max_bytes = max_bytes
        self.attempts = attempts

    async def on_start(self) -> None:
        # Rows a crash left mid-download go back to the queue (downloads are idempotent: content-addressed).
        async with self.db.session() as session:
            await session.exec(update(Media).where(col(Media.status) == 'downloading').values(status='pending'))
            await session.commit()

    async def run_round(self) -> None:
        await self.drain()

    async def drain(self) -> int:
        done = 0
        while True:
            claimed = await self._claim(limit=8)
            if not claimed:
                return done
            await asyncio.gather(*(self._download(media) for media in claimed))
            done += len(claimed)

    async def _claim(self, *, limit: int) -> list[Media]:
        """pending → downloading, one conditional UPDATE per row, so two processes never fetch the same file."""
        async with self.db.session() as session:
            pending = (await session.exec(
                select(Media).where(Media.status == 'pending', col(Media.wa_media_id).is_not(None))
                .order_by(col(Media.id)).limit(limit))).all()
            claimed = []
            for media in pending:
                result = await session.exec(update(Media).where(col(Media.id) == media.id, Media.status == 'pending')
                                            .values(status='downloading'))
                if result.rowcount:
                    claimed.append(media)
            await session.commit()
        return claimed

    async def _download(self, media: Media) -> None:
        try:
            await self._fetch_and_store(media)
        except Exception as exc:  # a crafted image or a disk error must not block every later download
            log.exception('media %s could not be stored', media.id)
            await self._record(media.id or 0, status='failed', error=f'{type(exc).__name__}'[:500])

    async def _fetch_and_store(self, media: Media) -> None:
        error = ''
        for attempt in range(1, self.attempts + 1):
            try:
                info = await self.client.media_info(media.wa_media_id or '')
                content = await self.client.download_media(info.url, max_bytes=self.max_bytes)
            except GraphError as exc:
                error = f'{exc.title or exc}'
                if not exc.retryable:
                    break
                await asyncio.sleep(0.5 * attempt)
                continue
            if not sha256_matches(content, media.sha256 or info.sha256):
                error = 'el archivo descargado no coincide con su SHA-256'
                break
            stored = await self.store.save(content, mime_type=info.mime_type or media.mime_type)
            await self._record(media.id or 0, status='stored', sha256=stored.sha256, size_bytes=stored.size_bytes,
                               storage_path=stored.storage_path, thumbnail_path=stored.thumbnail_path,
                               mime_type=(info.mime_type or media.mime_type)[:120], error='')
            return
        log.warning('media %s (%s) not downloaded: %s', media.id, media.wa_media_id, error)
        await self._record(media.id or 0, status='failed', error=error[:500])

    async def _record(self, media_id: int, **values: object) -> None:
        async with self.db.session() as session:
            await session.exec(update(Media).where(col(Media.id) == media_id).values(**values))
            rows = (await session.exec(
                select(Message.id, Message.conversation_id, Conversation.branch_id)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Message.media_id == media_id)
            )).all()
            await session.commit()
        await self.publisher.publish([
            Event(MESSAGE_STATUS, branch_id, conversation_id,
                  {'message_id': message_id, 'media_id': media_id, 'media_status': values['status']})
            for message_id, conversation_id, branch_id in rows])
