"""Retention of personal data (SPEC O3; Argentina's Ley 25.326 on personal data, docs/privacy.md).

What customers wrote and sent is kept only as long as the branch needs it (`Branch.retention_days`; unset = kept):
after that, a message keeps its place and its figures — who, when, which direction, its type, its delivery status,
the conversation it belongs to, so response times, counts and sales reports stay true — and loses its content:
the text, the raw WhatsApp JSON, the files (photos, audio, documents), the VIN read from a photo, and the
conversation's preview when that message was its last. Webhook bodies in the journal hold the same text: a processed
delivery keeps its row and counts but not its body after `journal_retention_days`.

Quotes, sales and tickets are business records that tax law requires to be kept; they are not touched. Nothing
here is ever undone: an anonymized message stays anonymized.

Safe with several worker processes: every change is a conditional UPDATE (`redacted_at IS NULL`), so a second
sweeper finds nothing left; a file is deleted only when no message whose content is kept still points at it
(files are stored once per content, and the same photo may be in a newer conversation too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .database import Database
from .media_store import MediaStore
from .models import Branch, Conversation, DeadLetter, DeliveryStatus, Media, Message, WebhookDelivery
from .models.types import utcnow
from .models.vin import VinReading, VinScan
from .workers import ScheduledJob

log = logging.getLogger(__name__)

# Messages anonymized per transaction: short transactions, so ingest and pages never wait long behind a sweep.
BATCH = 500
REDACTED_PAYLOAD = {'redacted': True}


@dataclass
class RetentionReport:
    messages: int = 0
    files: int = 0
    previews: int = 0
    journal_bodies: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.messages or self.files or self.previews or self.journal_bodies)


async def apply_retention(
    db: Database, *, store: MediaStore, journal_retention_days: int | None, now: datetime | None = None
) -> RetentionReport:
    """Anonymize what is past its branch's retention; returns what was done (idempotent: a second run does nothing)."""
    now = now or utcnow()
    report = RetentionReport()
    async with db.session() as session:
        branches = (
            await session.exec(select(Branch.id, Branch.retention_days).where(col(Branch.retention_days).is_not(None)))
        ).all()
    for branch_id, days in branches:
        if branch_id is not None and days is not None:
            await _anonymize_branch(
                db, store, branch_id=branch_id, cutoff=now - timedelta(days=days), now=now, report=report
            )
    if journal_retention_days is not None:
        report.journal_bodies = await _forget_journal_bodies(db, cutoff=now - timedelta(days=journal_retention_days))
    if report.anything:
        log.info(
            'retention: %d messages anonymized, %d files deleted, %d previews cleared, %d webhook bodies forgotten',
            report.messages,
            report.files,
            report.previews,
            report.journal_bodies,
        )
    return report


async def _anonymize_branch(
    db: Database, store: MediaStore, *, branch_id: int, cutoff: datetime, now: datetime, report: RetentionReport
) -> None:
    while True:
        async with db.session() as session:
            due = (
                await session.exec(
                    select(Message.id, Message.media_id)
                    .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                    .where(
                        Conversation.branch_id == branch_id,
                        col(Message.sent_at) < cutoff,
                        col(Message.redacted_at).is_(None),
                    )
                    .order_by(col(Message.id))
                    .limit(BATCH)
                )
            ).all()
            if not due:
                break
            message_ids = [message_id for message_id, _ in due if message_id is not None]
            media_ids = sorted({media_id for _, media_id in due if media_id is not None})
            result = await session.exec(
                update(Message)
                .where(col(Message.id).in_(message_ids), col(Message.redacted_at).is_(None))
                .values(text='', payload=REDACTED_PAYLOAD, redacted_at=now)
            )
            report.messages += result.rowcount or 0
            await session.exec(
                update(VinReading).where(col(VinReading.message_id).in_(message_ids)).values(vin=None, machine_vin=None)
            )
            # The preview shows the last message's text: cleared when that message is now anonymized.
            previews = await session.exec(
                update(Conversation)
                .where(
                    col(Conversation.branch_id) == branch_id,
                    col(Conversation.last_message_at) < cutoff,
                    col(Conversation.last_message_preview) != '',
                )
                .values(last_message_preview='')
            )
            report.previews += previews.rowcount or 0
            files = await _release_files(session, media_ids)
            await session.commit()
        # Files go after the commit: a crash in between leaves a file nobody points at, never a pointer to nothing.
        report.files += await _delete_files(store, files)


async def _release_files(session: AsyncSession, media_ids: list[int]) -> list[tuple[str, str | None, str | None]]:
    """Media rows of anonymized messages lose their files; returns (storage path, thumbnail, sha256) of the files
    no message whose content is kept still uses."""
    if not media_ids:
        return []
    rows = (
        await session.exec(
            select(Media.id, Media.storage_path, Media.thumbnail_path, Media.sha256).where(
                col(Media.id).in_(media_ids), col(Media.storage_path).is_not(None)
            )
        )
    ).all()
    await session.exec(
        update(Media)
        .where(col(Media.id).in_(media_ids))
        .values(storage_path=None, thumbnail_path=None, filename='', status='redacted')
    )
    unused: list[tuple[str, str | None, str | None]] = []
    for _, storage_path, thumbnail_path, sha256 in rows:
        if storage_path is None:
            continue
        still_kept = (
            await session.exec(
                select(Media.id)
                .join(Message, col(Message.media_id) == col(Media.id))
                .where(col(Media.storage_path) == storage_path, col(Message.redacted_at).is_(None))
                .limit(1)
            )
        ).first()
        if still_kept is None:
            unused.append((storage_path, thumbnail_path, sha256))
    shas = [sha256 for _, _, sha256 in unused if sha256]
    if shas:  # what the VIN reader cached of those photos (their text lines) goes with them
        await session.exec(
            update(VinScan).where(col(VinScan.image_sha256).in_(shas)).values(vin=None, candidates=[], text_lines=[])
        )
    return unused


async def _delete_files(store: MediaStore, files: list[tuple[str, str | None, str | None]]) -> int:
    def delete() -> int:
        deleted = 0
        for storage_path, thumbnail_path, _ in files:
            for relative in (storage_path, thumbnail_path):
                if relative:
                    with contextlib.suppress(FileNotFoundError):
                        store.path_of(relative).unlink()
                        deleted += relative == storage_path
        return deleted

    return await asyncio.to_thread(delete)


async def _forget_journal_bodies(db: Database, *, cutoff: datetime) -> int:
    """Processed webhook bodies older than `cutoff` keep their row and counts, not their text. Failed and flagged
    ones, and those holding an unresolved dead letter, are kept whole: they may still be replayed."""
    pending_letter = exists().where(
        and_(col(DeadLetter.delivery_id) == col(WebhookDelivery.id), col(DeadLetter.resolved_at).is_(None))
    )
    async with db.session() as session:
        result = await session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.received_at) < cutoff,
                col(WebhookDelivery.status) == DeliveryStatus.PROCESSED,
                col(WebhookDelivery.body) != '{}',
                ~pending_letter,
            )
            .values(body='{}')
        )
        await session.commit()
    return result.rowcount or 0


class RetentionSweeper(ScheduledJob):
    """The retention job, every `interval_hours`, in the process that runs the workers. Not at start: a process
    that starts (or restarts) serves first; the first sweep comes a minute later."""

    name = 'retention'

    def __init__(
        self, db: Database, *, store: MediaStore, journal_retention_days: int | None, interval_hours: float
    ) -> None:
        super().__init__(interval=timedelta(hours=interval_hours), first_run_after=timedelta(minutes=1))
        self.db = db
        self.store = store
        self.journal_retention_days = journal_retention_days
        self.last_report: RetentionReport | None = None

    async def run_once(self) -> RetentionReport:
        self.last_report = await apply_retention(
            self.db, store=self.store, journal_retention_days=self.journal_retention_days
        )
        return self.last_report


__all__ = ['RetentionReport', 'RetentionSweeper', 'apply_retention']
