"""Stored VIN readings (V1, V3): the cache of scans by image sha256, one reading per image message, an agent's
manual correction, and what the chat, the bot and the AI summary read back.

Branch isolation (B2) is a WHERE clause on `vin_readings.branch_id` in every query that takes a viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import InvalidInput, NotFound
from ..events import Event, EventPublisher
from ..models import Conversation, Direction, Media, Message
from ..models.types import utcnow
from ..models.vin import VinReading, VinScan
from .candidates import parse_typed_vin
from .decoding import Vehicle, decode_vehicle
from .pipeline import PIPELINE_VERSION, VinResult
from .validation import VinStatus

VIN_READ = 'vin.read'  # published after a reading (or a correction) is committed
TEXT_LINES_KEPT = 80


@dataclass(frozen=True)
class VinReadingPublic:
    """A reading as the chat, the bot and the summary see it."""

    message_id: int
    conversation_id: int
    branch_id: int
    state: str  # processing, done, failed
    vin: str | None
    status: VinStatus
    source: str  # barcode, ocr, manual, ''
    confidence: float
    vehicle: Vehicle | None
    candidates: list[str]  # other VINs it may be (valid ones first), to offer when correcting
    part_codes: list[str]
    machine_vin: str | None
    corrected_by_user_id: int | None
    corrected_at: datetime | None
    error: str

    @property
    def vehicle_label(self) -> str:
        return self.vehicle.label if self.vehicle else ''

    @property
    def found(self) -> bool:
        return self.vin is not None and self.status != VinStatus.NONE


def _public(reading: VinReading, scan: VinScan | None) -> VinReadingPublic:
    candidates = [item['vin'] for item in (scan.candidates if scan else []) if item.get('vin') != reading.vin]
    return VinReadingPublic(
        message_id=reading.message_id,
        conversation_id=reading.conversation_id,
        branch_id=reading.branch_id,
        state=reading.state,
        vin=reading.vin,
        status=VinStatus(reading.status),
        source=reading.source,
        confidence=reading.confidence,
        vehicle=Vehicle.from_dict(reading.vehicle),
        candidates=candidates[:6],
        part_codes=list(reading.part_codes),
        machine_vin=reading.machine_vin,
        corrected_by_user_id=reading.corrected_by_user_id,
        corrected_at=reading.corrected_at,
        error=reading.error,
    )


# --- the worker's side -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingImage:
    message_id: int
    conversation_id: int
    branch_id: int
    media_id: int
    sha256: str
    storage_path: str
    mime_type: str


def _is_image_message() -> Any:  # a SQL expression
    # WhatsApp images, and documents that are images (customers send photos "as file" to keep quality).
    return (col(Message.type) == 'image') | (
        (col(Message.type) == 'document') & col(Media.mime_type).startswith('image/')
    )


async def pending_images(db: Database, *, limit: int) -> list[PendingImage]:
    """Inbound image messages whose media is stored and that have no reading yet, newest first: a live
    customer waits for the bot, a backlog after a deploy does not."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select_columns(
                    Message.id,
                    Message.conversation_id,
                    Conversation.branch_id,
                    Media.id,
                    Media.sha256,
                    Media.storage_path,
                    Media.mime_type,
                )
                .join(Media, col(Media.id) == col(Message.media_id))
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .outerjoin(VinReading, col(VinReading.message_id) == col(Message.id))
                .where(
                    Message.direction == Direction.INBOUND,
                    Media.status == 'stored',
                    col(VinReading.id).is_(None),
                    col(Media.storage_path).is_not(None),
                    col(Media.sha256).is_not(None),
                    _is_image_message(),
                )
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
        ).all()
    return [
        PendingImage(message_id or 0, conversation_id, branch_id, media_id or 0, sha256 or '', path or '', mime)
        for message_id, conversation_id, branch_id, media_id, sha256, path, mime in rows
    ]


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql_insert if dialect == 'postgresql' else sqlite_insert)(table).on_conflict_do_nothing()


async def claim(db: Database, image: PendingImage) -> bool:
    """Insert the message's reading as `processing`; False if another worker (or process) got there first."""
    async with db.session() as session:
        result = await session.exec(
            _insert(db.dialect, VinReading).values(
                message_id=image.message_id,
                conversation_id=image.conversation_id,
                branch_id=image.branch_id,
                media_id=image.media_id,
                state='processing',
                status=VinStatus.NONE,
                source='',
                confidence=0.0,
                part_codes=[],
                error='',
                claimed_at=utcnow(),
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        await session.commit()
        return bool(result.rowcount)


async def release_stale_claims(db: Database, *, older_than: timedelta) -> int:
    """Claims left by a worker that died mid-reading are removed, so the image is read again."""
    async with db.session() as session:
        result = await session.exec(
            delete(VinReading).where(
                col(VinReading.state) == 'processing', col(VinReading.claimed_at) < utcnow() - older_than
            )
        )
        await session.commit()
        return int(result.rowcount or 0)


async def cached_scan(db: Database, *, sha256: str, engine: str) -> VinScan | None:
    async with db.session() as session:
        return (
            await session.exec(
                select(VinScan).where(
                    VinScan.image_sha256 == sha256,
                    VinScan.engine == engine,
                    VinScan.pipeline_version == PIPELINE_VERSION,
                )
            )
        ).first()


async def save_scan(db: Database, *, sha256: str, result: VinResult) -> VinScan:
    """Store a pipeline result in the cache (a concurrent identical insert is harmless) and return the row."""
    async with db.session() as session:
        await session.exec(
            _insert(db.dialect, VinScan).values(
                image_sha256=sha256,
                engine=result.engine,
                pipeline_version=result.version,
                vin=result.vin,
                status=str(result.status),
                source=result.source,
                confidence=result.confidence,
                candidates=result.candidates,
                vehicle=result.vehicle,
                text_lines=result.text_lines[:TEXT_LINES_KEPT],
                timings=result.timings,
                seconds=result.seconds,
                error=result.error[:200],
                created_at=utcnow(),
            )
        )
        await session.commit()
        scan = (
            await session.exec(
                select(VinScan).where(
                    VinScan.image_sha256 == sha256,
                    VinScan.engine == result.engine,
                    VinScan.pipeline_version == result.version,
                )
            )
        ).one()
        return scan


async def finish_reading(
    db: Database,
    *,
    image: PendingImage,
    scan: VinScan | None,
    part_codes: Sequence[str],
    error: str,
    publisher: EventPublisher,
) -> None:
    """processing → done (with the scan's answer) or failed (timeout, unreadable file); then the event."""
    values: dict[str, Any] = {
        'state': 'failed' if scan is None else 'done',
        'error': error[:200],
        'updated_at': utcnow(),
        'part_codes': list(part_codes),
    }
    if scan is not None:
        values.update(
            scan_id=scan.id,
            vin=scan.vin,
            machine_vin=scan.vin,
            status=scan.status,
            source=scan.source,
            confidence=scan.confidence,
            vehicle=scan.vehicle,
        )
    async with db.session() as session:
        await session.exec(
            update(VinReading)
            .where(col(VinReading.message_id) == image.message_id, col(VinReading.state) == 'processing')
            .values(**values)
        )
        await session.commit()
    await publisher.publish(
        [
            Event(
                VIN_READ,
                image.branch_id,
                image.conversation_id,
                {
                    'message_id': image.message_id,
                    'vin': values.get('vin'),
                    'status': values.get('status', VinStatus.NONE),
                    'state': values['state'],
                },
            )
        ]
    )


# --- what pages, the bot and the AI summary call ---------------------------------------------------------


async def reading_for_message(db: Database, *, viewer: Viewer, message_id: int) -> VinReadingPublic | None:
    found = await readings_for_messages(db, viewer=viewer, message_ids=[message_id])
    return found.get(message_id)


async def readings_for_messages(
    db: Database, *, viewer: Viewer, message_ids: Sequence[int]
) -> dict[int, VinReadingPublic]:
    """The readings of the images a chat shows, by message id (one query for a whole thread)."""
    if not message_ids:
        return {}
    async with db.session() as session:
        rows = (
            await session.exec(
                select(VinReading, VinScan)
                .outerjoin(VinScan, col(VinScan.id) == col(VinReading.scan_id))
                .where(col(VinReading.message_id).in_(list(message_ids)), branch_scope(VinReading.branch_id, viewer))
            )
        ).all()
    return {reading.message_id: _public(reading, scan) for reading, scan in rows}


async def latest_good_reading(
    db: Database, *, conversation_id: int, viewer: Viewer | None = None
) -> VinReadingPublic | None:
    """The conversation's most recent reading that found a VIN (verified, unverified or typed by an agent) —
    the vehicle of the AI summary and the bot. `viewer=None` is the system (the assistant's own worker)."""
    conditions: list[ColumnElement[bool]] = [
        col(VinReading.conversation_id) == conversation_id,
        col(VinReading.vin).is_not(None),
        col(VinReading.status) != VinStatus.NONE,
    ]
    if viewer is not None:
        conditions.append(branch_scope(VinReading.branch_id, viewer))
    async with db.session() as session:
        row = (
            await session.exec(
                select(VinReading, VinScan)
                .outerjoin(VinScan, col(VinScan.id) == col(VinReading.scan_id))
                .where(*conditions)
                .order_by(col(VinReading.id).desc())
                .limit(1)
            )
        ).first()
    return _public(*row) if row else None


async def correct_vin(
    db: Database, *, viewer: Viewer, message_id: int, vin_text: str, publisher: EventPublisher
) -> VinReadingPublic:
    """An agent types the VIN they read on the photo. Validated like any VIN (a North-American one must pass
    its check digit: the agent probably mistyped otherwise), decoded, stored over the machine's answer (which
    stays in `machine_vin`), audited, and announced with `vin.read`."""
    check = parse_typed_vin(vin_text)
    if not check.valid:
        raise InvalidInput(f'not a valid VIN: {check.reason}', reason=check.reason)
    async with db.session() as session:
        row = (
            await session.exec(
                select(Message, Conversation)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Message.id == message_id, branch_scope(Conversation.branch_id, viewer))
            )
        ).first()
        if row is None:
            # Same answer for "absent" and "another branch's": existence is not leaked across branches.
            raise NotFound(f'no message {message_id}')
        message, conversation = row
        reading = (await session.exec(select(VinReading).where(VinReading.message_id == message_id))).first()
        now = utcnow()
        if reading is None:  # e.g. the photo could not be read at all, or the VIN came in a text message
            reading = VinReading(
                message_id=message_id,
                conversation_id=conversation.id or 0,
                branch_id=conversation.branch_id,
                media_id=message.media_id,
                state='done',
            )
        vehicle = decode_vehicle(check.vin)
        reading.vin, reading.status, reading.source = check.vin, str(check.status), 'manual'
        reading.confidence = 1.0
        reading.vehicle = vehicle.to_dict() if vehicle else None
        reading.state, reading.error = 'done', ''
        reading.corrected_by_user_id, reading.corrected_at, reading.updated_at = viewer.user_id, now, now
        session.add(reading)
        audit.record(
            session,
            action='vin.corrected',
            actor=viewer,
            target_type='message',
            target_id=message_id,
            vin=check.vin,
            machine_vin=reading.machine_vin or '',
        )
        await session.commit()
        scan = await session.get(VinScan, reading.scan_id) if reading.scan_id else None
        public = _public(reading, scan)
    await publisher.publish(
        [
            Event(
                VIN_READ,
                public.branch_id,
                public.conversation_id,
                {
                    'message_id': message_id,
                    'vin': public.vin,
                    'status': str(public.status),
                    'state': 'done',
                    'corrected': True,
                },
            )
        ]
    )
    return public
