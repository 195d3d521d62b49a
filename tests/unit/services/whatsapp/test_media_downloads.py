"""Inbound media download (M2) from a fake Graph API over real HTTP: limit, SHA-256, storage, thumbnail."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from services.database import Database
from services.events import NullPublisher
from services.media_store import MediaStore
from services.models import Contact, Conversation, Direction, Media, Message, SenderKind
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.workers import MediaWorker
from tests.conftest import World


def jpeg(width: int = 1200, height: int = 800) -> bytes:
    buffer = io.BytesIO()
    Image.new('RGB', (width, height), (200, 120, 40)).save(buffer, format='JPEG')
    return buffer.getvalue()


async def pending_media(
    db: Database, world: World, *, wa_media_id: str, sha256: str | None, mime_type: str = 'image/jpeg'
) -> int:
    async with db.session() as session:
        contact = Contact(phone_e164='+5491133334444', wa_id='5491133334444')
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            contact_id=contact.id or 0, number_id=world.central_number.id or 0, branch_id=world.central.id or 0
        )
        media = Media(wa_media_id=wa_media_id, mime_type=mime_type, sha256=sha256)
        session.add_all([conversation, media])
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                type='image',
                media_id=media.id,
            )
        )
        await session.commit()
        return media.id or 0


@pytest.fixture
async def downloader(db: Database, fake_graph: FakeGraphApi, tmp_path: Path):
    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        yield MediaWorker(
            db, client=client, store=MediaStore(tmp_path / 'media'), publisher=NullPublisher(), max_bytes=1_000_000
        )


async def stored(db: Database, media_id: int) -> Media:
    async with db.session() as session:
        media = await session.get(Media, media_id)
        assert media is not None
        return media


async def test_photo_is_downloaded_verified_stored_by_hash_with_a_thumbnail(
    db: Database, world: World, fake_graph: FakeGraphApi, downloader: MediaWorker
) -> None:
    content = jpeg()
    wa_media_id = fake_graph.add_media(content, 'image/jpeg')
    media_id = await pending_media(
        db, world, wa_media_id=wa_media_id, sha256=base64.b64encode(hashlib.sha256(content).digest()).decode()
    )

    await downloader.drain()

    media = await stored(db, media_id)
    assert (media.status, media.sha256, media.size_bytes) == (
        'stored',
        hashlib.sha256(content).hexdigest(),
        len(content),
    )
    assert downloader.store.path_of(media.storage_path or '').read_bytes() == content
    with Image.open(downloader.store.path_of(media.thumbnail_path or '')) as thumbnail:
        assert max(thumbnail.size) == 320


async def test_file_over_the_limit_is_refused_without_reading_it_all(
    db: Database, world: World, fake_graph: FakeGraphApi, downloader: MediaWorker
) -> None:
    wa_media_id = fake_graph.add_media(
        b'x' * 3_000_000, 'video/mp4', declare_length=False, chunk_size=64 * 1024, chunk_delay=0.01
    )
    media_id = await pending_media(db, world, wa_media_id=wa_media_id, sha256=None, mime_type='video/mp4')

    await downloader.drain()

    assert (await stored(db, media_id)).status == 'failed'
    assert fake_graph.media_bytes_served(wa_media_id) < 3_000_000


async def test_hash_mismatch_is_not_stored(
    db: Database,
    world: World,
    fake_graph: FakeGraphApi,
    downloader: MediaWorker,
) -> None:
    wa_media_id = fake_graph.add_media(jpeg(), 'image/jpeg')
    media_id = await pending_media(db, world, wa_media_id=wa_media_id, sha256='0' * 64)

    await downloader.drain()

    media = await stored(db, media_id)
    assert media.status == 'failed' and 'SHA-256' in media.error


async def test_a_broken_image_is_stored_without_thumbnail_and_does_not_block_others(
    db: Database, world: World, fake_graph: FakeGraphApi, downloader: MediaWorker
) -> None:
    broken = fake_graph.add_media(b'\xff\xd8 not really a jpeg', 'image/jpeg')
    media_id = await pending_media(db, world, wa_media_id=broken, sha256=None)

    await downloader.drain()

    media = await stored(db, media_id)
    assert media.status == 'stored' and media.thumbnail_path is None
