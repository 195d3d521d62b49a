"""Stored readings, on SQLite and PostgreSQL: the worker reads each image message once, the sha256 cache,
events after commit, the latest good reading, and an agent's correction with branch isolation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import select

from services.access import Viewer
from services.database import Database
from services.errors import InvalidInput, NotFound
from services.events import MESSAGE_STATUS, Event
from services.media_store import MediaStore
from services.models import AuditEntry, Contact, Conversation, Direction, Media, Message, Role, SenderKind, User
from services.models.vin import VinReading, VinScan
from services.vin import VIN_READ
from services.vin.readings import correct_vin, latest_good_reading, readings_for_messages
from services.vin.replies import vin_reply_text
from services.vin.runner import VinReader
from services.vin.validation import VinStatus
from services.vin.workers import VinWorker, wakes_vin_worker
from tests.conftest import World

from .conftest import SAMPLE_VIN


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


def viewer_of(user: User, *, branch_ids: frozenset[int] | None) -> Viewer:
    return Viewer(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        branch_id=user.branch_id,
        branch_ids=branch_ids,
    )


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / 'media')


async def conversation(db: Database, world: World, *, phone: str = '+5491133334444', rosario: bool = False) -> int:
    number, branch = (world.rosario_number, world.rosario) if rosario else (world.central_number, world.central)
    async with db.session() as session:
        contact = Contact(phone_e164=phone, wa_id=phone.lstrip('+'))
        session.add(contact)
        await session.flush()
        row = Conversation(contact_id=contact.id or 0, number_id=number.id or 0, branch_id=branch.id or 0)
        session.add(row)
        await session.commit()
        return row.id or 0


async def image_message(
    db: Database,
    store: MediaStore,
    conversation_id: int,
    content: bytes,
    *,
    type_: str = 'image',
    mime_type: str = 'image/jpeg',
    direction: Direction = Direction.INBOUND,
) -> int:
    """A message whose media the downloader already stored (status `stored`)."""
    stored = await store.save(content, mime_type=mime_type)
    async with db.session() as session:
        media = Media(
            mime_type=mime_type,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            storage_path=stored.storage_path,
            status='stored',
        )
        session.add(media)
        await session.flush()
        message = Message(
            conversation_id=conversation_id,
            direction=direction,
            sender_kind=SenderKind.CUSTOMER if direction == Direction.INBOUND else SenderKind.AGENT,
            type=type_,
            media_id=media.id,
        )
        session.add(message)
        await session.commit()
        return message.id or 0


async def readings(db: Database) -> dict[int, VinReading]:
    async with db.session() as session:
        return {row.message_id: row for row in (await session.exec(select(VinReading))).all()}


async def test_worker_reads_each_inbound_image_once_and_reuses_the_scan_of_the_same_photo(
    db: Database, world: World, store: MediaStore, reader: VinReader, sample_photo: bytes
) -> None:
    publisher = RecordingPublisher()
    worker = VinWorker(db, reader=reader, store=store, publisher=publisher)
    first = await conversation(db, world)
    second = await conversation(db, world, phone='+5491155556666')
    photo = await image_message(db, store, first, sample_photo)
    same_photo_again = await image_message(db, store, second, sample_photo)
    as_document = await image_message(db, store, second, sample_photo + b'\0', type_='document')
    pdf = await image_message(db, store, second, b'%PDF-1.7', type_='document', mime_type='application/pdf')
    outbound = await image_message(db, store, first, sample_photo, direction=Direction.OUTBOUND)

    assert await worker.drain() == 3
    assert await worker.drain() == 0  # nothing is read twice

    stored = await readings(db)
    assert set(stored) == {photo, same_photo_again, as_document}
    assert pdf not in stored and outbound not in stored
    assert {(row.vin, row.status, row.state, row.source) for row in stored.values()} == {
        (SAMPLE_VIN, 'unverified', 'done', 'barcode')
    }
    # The same bytes are one scan: the OCR pool ran for two distinct files, not three messages.
    assert worker.pipeline_runs == 2
    async with db.session() as session:
        assert len((await session.exec(select(VinScan))).all()) == 2
    assert sorted(event.data['message_id'] for event in publisher.events if event.kind == VIN_READ) == sorted(
        [photo, same_photo_again, as_document]
    )
    assert {event.branch_id for event in publisher.events} == {world.central.id}


async def test_a_photo_that_cannot_be_read_is_marked_failed_not_retried_for_ever(
    db: Database, world: World, store: MediaStore, reader: VinReader
) -> None:
    worker = VinWorker(db, reader=reader, store=store, publisher=RecordingPublisher())
    message = await image_message(db, store, await conversation(db, world), b'not really a jpeg')

    await worker.drain()

    row = (await readings(db))[message]
    assert (row.state, row.vin, row.status) == ('done', None, 'none')
    assert 'not a readable image' in row.error
    assert await worker.drain() == 0


def test_only_stored_media_events_wake_the_worker() -> None:
    assert wakes_vin_worker(Event(MESSAGE_STATUS, 1, 2, {'message_id': 3, 'media_status': 'stored'}))
    assert not wakes_vin_worker(Event(MESSAGE_STATUS, 1, 2, {'message_id': 3, 'media_status': 'failed'}))
    assert not wakes_vin_worker(Event(MESSAGE_STATUS, 1, 2, {'message_id': 3, 'status': 'read'}))


async def test_latest_good_reading_feeds_the_summary_and_the_bot(
    db: Database, world: World, store: MediaStore, reader: VinReader, sample_photo: bytes
) -> None:
    conversation_id = await conversation(db, world)
    await image_message(db, store, conversation_id, sample_photo)
    blurry = await image_message(db, store, conversation_id, b'garbage')  # later, but nothing found in it
    await VinWorker(db, reader=reader, store=store, publisher=RecordingPublisher()).drain()

    latest = await latest_good_reading(db, conversation_id=conversation_id)

    assert latest is not None and latest.message_id != blurry
    assert (latest.vin, latest.vehicle_label) == (SAMPLE_VIN, 'Volkswagen Gol / Voyage / Saveiro 2015')
    assert vin_reply_text(latest) == (
        'Tu vehículo: Volkswagen Gol / Voyage / Saveiro 2015 — VIN 9BWAB45U5FP012345 '
        '(sin verificar: ¿me confirmás que está bien?).'
    )
    bruno = viewer_of(world.bruno, branch_ids=frozenset({world.rosario.id or 0}))
    assert await latest_good_reading(db, conversation_id=conversation_id, viewer=bruno) is None
    assert 'foto más clara' in vin_reply_text(None)


async def test_an_agent_corrects_the_vin_of_a_photo_of_their_branch_only(
    db: Database, world: World, store: MediaStore, reader: VinReader, sample_photo: bytes
) -> None:
    conversation_id = await conversation(db, world)
    message = await image_message(db, store, conversation_id, sample_photo)
    await VinWorker(db, reader=reader, store=store, publisher=RecordingPublisher()).drain()
    ana = viewer_of(world.ana, branch_ids=frozenset({world.central.id or 0}))
    bruno = viewer_of(world.bruno, branch_ids=frozenset({world.rosario.id or 0}))
    publisher = RecordingPublisher()

    with pytest.raises(NotFound):
        await correct_vin(db, viewer=bruno, message_id=message, vin_text='1HGCM82633A004352', publisher=publisher)
    with pytest.raises(InvalidInput):
        await correct_vin(db, viewer=ana, message_id=message, vin_text='1HGCM82633A004353', publisher=publisher)
    assert publisher.events == []

    corrected = await correct_vin(
        db, viewer=ana, message_id=message, vin_text='1hgcm 82633 a004352', publisher=publisher
    )

    assert (corrected.vin, corrected.status, corrected.source, corrected.machine_vin) == (
        '1HGCM82633A004352',
        VinStatus.VERIFIED,
        'manual',
        SAMPLE_VIN,
    )
    assert corrected.corrected_by_user_id == world.ana.id
    assert corrected.vehicle_label.startswith('Honda')
    shown = await readings_for_messages(db, viewer=ana, message_ids=[message])
    assert shown[message].vin == '1HGCM82633A004352'
    assert await readings_for_messages(db, viewer=bruno, message_ids=[message]) == {}
    assert [(event.kind, event.data['message_id'], event.data['corrected']) for event in publisher.events] == [
        (VIN_READ, message, True)
    ]
    async with db.session() as session:
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'vin.corrected'))).one()
    assert audit.details['machine_vin'] == SAMPLE_VIN


async def test_a_vin_can_be_entered_for_an_image_that_has_no_reading_yet(
    db: Database, world: World, store: MediaStore, sample_photo: bytes
) -> None:
    message = await image_message(db, store, await conversation(db, world), sample_photo)
    marta = viewer_of(world.marta, branch_ids=frozenset({world.central.id or 0}))

    reading = await correct_vin(
        db, viewer=marta, message_id=message, vin_text='WVWZZZ1KZ6W000001', publisher=RecordingPublisher()
    )

    assert (reading.vin, reading.status, reading.machine_vin) == ('WVWZZZ1KZ6W000001', VinStatus.UNVERIFIED, None)
    assert vin_reply_text(reading).startswith('Tu vehículo: Volkswagen Golf V / Vento 2006 — VIN WVWZZZ1KZ6W000001.')
