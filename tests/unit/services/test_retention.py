"""Retention (SPEC O3, Ley 25.326): past a branch's retention, what customers wrote and sent is anonymized and the
figures stay; nothing of another branch, nothing recent, nothing twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from services import branches
from services.database import Database
from services.errors import InvalidInput
from services.media_store import MediaStore
from services.models import Branch, Conversation, DeliveryStatus, Media, Message, WebhookDelivery
from services.models.types import utcnow
from services.retention import apply_retention
from services.whatsapp.journal import journal_once
from tests.builders import conversation_with_message
from tests.conftest import World

JPEG = (Path(__file__).resolve().parents[3] / 'app' / 'static' / 'simulator' / 'vin-sample.jpg').read_bytes()


async def old_chat(db: Database, world: World, *, branch: Branch, phone: str, text: str, days_ago: float) -> int:
    number = world.central_number if branch.id == world.central.id else world.rosario_number
    return await conversation_with_message(
        db,
        number_id=number.id or 0,
        branch_id=branch.id or 0,
        phone=phone,
        text=text,
        wa_message_id=f'wamid.{phone}',
        hours_ago=days_ago * 24,
    )


async def message_of(db: Database, conversation_id: int) -> Message:
    async with db.session() as session:
        return (await session.exec(select(Message).where(Message.conversation_id == conversation_id))).one()


async def attach_photo(db: Database, store: MediaStore, conversation_id: int) -> Media:
    stored = await store.save(JPEG, mime_type='image/jpeg')
    async with db.session() as session:
        media = Media(
            mime_type='image/jpeg',
            filename='chapa.jpg',
            sha256=stored.sha256,
            status='stored',
            storage_path=stored.storage_path,
            thumbnail_path=stored.thumbnail_path,
        )
        session.add(media)
        await session.flush()
        await session.exec(
            update(Message).where(col(Message.conversation_id) == conversation_id).values(media_id=media.id)
        )
        await session.commit()
        return media


async def test_past_the_branch_retention_content_goes_and_figures_stay(
    db: Database, world: World, tmp_path: Path
) -> None:
    store = MediaStore(tmp_path / 'media')
    await branches.set_retention(db, code='SUC1', days=90)
    old = await old_chat(
        db, world, branch=world.central, phone='+5491111111111', text='Mi DNI es 30.111.222', days_ago=120
    )
    recent = await old_chat(db, world, branch=world.central, phone='+5491122222222', text='Hola', days_ago=10)
    rosario = await old_chat(db, world, branch=world.rosario, phone='+5493413333333', text='Sin política', days_ago=400)
    photo = await attach_photo(db, store, old)

    report = await apply_retention(db, store=store, journal_retention_days=None)

    gone = await message_of(db, old)
    assert (gone.text, gone.payload, gone.redacted_at is not None) == ('', {'redacted': True}, True)
    assert (gone.direction, gone.type, gone.status) == ('in', 'text', 'received')  # the figures stay
    assert (await message_of(db, recent)).text == 'Hola'
    assert (await message_of(db, rosario)).text == 'Sin política'  # Rosario keeps everything: no retention set
    async with db.session() as session:
        conversation = await session.get(Conversation, old)
        media = await session.get(Media, photo.id)
    assert conversation is not None and conversation.last_message_preview == ''
    assert media is not None and (media.storage_path, media.status) == (None, 'redacted')
    assert not store.path_of(photo.storage_path or '').exists()
    assert (report.messages, report.files) == (1, 1)


async def test_a_file_a_kept_message_still_shows_is_not_deleted(db: Database, world: World, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / 'media')
    await branches.set_retention(db, code='SUC1', days=90)
    old = await old_chat(db, world, branch=world.central, phone='+5491111111111', text='foto', days_ago=200)
    recent = await old_chat(db, world, branch=world.central, phone='+5491122222222', text='la misma foto', days_ago=1)
    first = await attach_photo(db, store, old)
    await attach_photo(db, store, recent)  # the same bytes: one file on disk, two media rows

    report = await apply_retention(db, store=store, journal_retention_days=None)

    assert report.messages == 1 and report.files == 0
    assert store.path_of(first.storage_path or '').exists()


async def test_running_twice_changes_nothing_the_second_time(db: Database, world: World, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / 'media')
    await branches.set_retention(db, code='SUC1', days=30)
    await old_chat(db, world, branch=world.central, phone='+5491111111111', text='viejo', days_ago=45)

    first = await apply_retention(db, store=store, journal_retention_days=None)
    second = await apply_retention(db, store=store, journal_retention_days=None)

    assert first.messages == 1
    assert not second.anything
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Message))).one() == 1


async def test_processed_webhook_bodies_lose_their_text_and_failed_ones_keep_it(db: Database, world: World) -> None:
    processed = await journal_once(db, '{"entry": "Mi DNI es 30.111.222"}', status=DeliveryStatus.PROCESSED)
    failed = await journal_once(db, '{"entry": "todavía por reprocesar"}', status=DeliveryStatus.FAILED)
    fresh = await journal_once(db, '{"entry": "de hoy"}', status=DeliveryStatus.PROCESSED)
    async with db.session() as session:
        await session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id).in_([processed, failed]))
            .values(received_at=utcnow() - timedelta(days=40))
        )
        await session.commit()

    report = await apply_retention(db, store=MediaStore(Path('/nonexistent')), journal_retention_days=30)

    async with db.session() as session:
        bodies = dict((await session.exec(select(WebhookDelivery.id, WebhookDelivery.body))).all())
    assert bodies[processed] == '{}'
    assert 'reprocesar' in bodies[failed] and 'de hoy' in bodies[fresh]
    assert report.journal_bodies == 1


async def test_retention_is_between_a_month_and_ten_years(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput):
        await branches.set_retention(db, code='SUC1', days=7)

    assert (await branches.set_retention(db, code='SUC1', days=None)).retention_days is None
