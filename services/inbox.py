"""What the agents' console (SPEC C1–C3) shows: a conversation's detail, its thread, the client panel,
canned responses and templates, and the edits agents make there.

Every function takes the `Viewer` and refuses what their branches do not allow (B2). Live pages receive
events and read rows through `SnapshotCache`, so twenty open pages cost one query per event, not twenty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, update
from sqlmodel import col, or_, select

from . import audit
from .access import Viewer
from .conversations import ConversationRow, get_conversation
from .database import Database
from .errors import InvalidInput, NotFound
from .events import CONVERSATION_UPDATED, Event, EventPublisher
from .models import (
    AssignmentEvent,
    CannedResponse,
    Contact,
    Conversation,
    ConversationLabel,
    Media,
    Message,
    MessageTemplate,
    Role,
    TemplateStatus,
    User,
    WhatsAppNumber,
)
from .models.types import utcnow
from .whatsapp.outbox import window_state_at

T = TypeVar('T')


class MediaView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    mime_type: str
    filename: str
    status: str  # pending, downloading, stored, failed
    has_thumbnail: bool
    size_bytes: int | None


class ThreadMessage(BaseModel):
    """One bubble of the thread. `text` is shown as text, never as HTML."""

    model_config = ConfigDict(frozen=True)

    id: int
    direction: str
    sender_kind: str
    sender_name: str  # the agent's name for agent messages; '' otherwise (the UI says customer / AI)
    type: str
    text: str
    status: str
    error_code: int | None
    error_title: str
    error_details: str
    sent_at: datetime
    media: MediaView | None
    fields: dict[str, Any]  # type-specific: location coordinates, interactive reply ids, reaction target…


class Attendance(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    user_name: str | None
    actor_name: str | None
    reason: str
    at: datetime


class ConversationDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: ConversationRow
    number_display: str
    number_label: str
    contact_display_name: str
    contact_profile_name: str
    contact_email: str
    contact_notes: str
    window_open: bool
    window_closes_at: datetime | None
    labels: list[str]
    attended_by: list[Attendance]


class Canned(BaseModel):
    model_config = ConfigDict(frozen=True)

    shortcut: str
    title: str
    body: str


class TemplateOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    language: str
    body: str
    variable_count: int


# --- reading ----------------------------------------------------------------------------------------------


async def conversation_detail(db: Database, *, viewer: Viewer, conversation_id: int) -> ConversationDetail:
    row = await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        contact = await session.get(Contact, row.contact_id)
        assert conversation is not None and contact is not None
        number = await session.get(WhatsAppNumber, conversation.number_id)
        labels = (await session.exec(select(ConversationLabel.label)
                                     .where(ConversationLabel.conversation_id == conversation_id)
                                     .order_by(ConversationLabel.label))).all()
        history = (await session.exec(
            select(AssignmentEvent, User.full_name)
            .join(User, col(User.id) == col(AssignmentEvent.user_id), isouter=True)
            .where(AssignmentEvent.conversation_id == conversation_id)
            .order_by(col(AssignmentEvent.at).desc()).limit(50))).all()
        actor_ids = {event.actor_user_id for event, _ in history if event.actor_user_id}
        actors = dict((await session.exec(select(User.id, User.full_name)
                                          .where(col(User.id).in_(sorted(actor_ids)))))
                      .all()) if actor_ids else {}
    window = window_state_at(conversation.last_inbound_at)
    return ConversationDetail(
        row=row, number_display=number.display_phone if number else '', number_label=number.label if number else '',
        contact_display_name=contact.display_name, contact_profile_name=contact.profile_name,
        contact_email=contact.email, contact_notes=contact.notes, window_open=window.open,
        window_closes_at=window.closes_at, labels=list(labels),
        attended_by=[Attendance(action=event.action, user_name=name, actor_name=actors.get(event.actor_user_id),
                                reason=event.reason, at=event.at) for event, name in history],
    )


async def thread(db: Database, *, viewer: Viewer, conversation_id: int, limit: int = 50,
                 before_id: int | None = None, after_id: int | None = None) -> list[ThreadMessage]:
    """The newest `limit` messages oldest first; `before_id` pages back ("load older"), `after_id` fetches
    what arrived after the last shown one (resync after a reconnect)."""
    await get_conversation(db, viewer=viewer, conversation_id=conversation_id)  # branch check
    query = (select(Message, User.full_name, Media)
             .join(User, col(User.id) == col(Message.sent_by_user_id), isouter=True)
             .join(Media, col(Media.id) == col(Message.media_id), isouter=True)
             .where(Message.conversation_id == conversation_id))
    async with db.session() as session:
        if before_id is not None and (anchor := await session.get(Message, before_id)) is not None:
            query = query.where(or_(col(Message.sent_at) < anchor.sent_at,
                                    (col(Message.sent_at) == anchor.sent_at) & (col(Message.id) < before_id)))
        if after_id is not None:
            query = query.where(col(Message.id) > after_id)
        rows = (await session.exec(
            query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit))).all()
    return [_thread_message(message, name, media) for message, name, media in reversed(rows)]


async def thread_message(db: Database, *, viewer: Viewer, message_id: int) -> ThreadMessage | None:
    """One message for a live page, or None if the viewer may not see it."""
    async with db.session() as session:
        row = (await session.exec(
            select(Message, User.full_name, Media, Conversation.branch_id)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .join(User, col(User.id) == col(Message.sent_by_user_id), isouter=True)
            .join(Media, col(Media.id) == col(Message.media_id), isouter=True)
            .where(Message.id == message_id))).first()
    if row is None or not viewer.can_see_branch(row[3]):
        return None
    return _thread_message(row[0], row[1], row[2])


def _thread_message(message: Message, sender_name: str | None, media: Media | None) -> ThreadMessage:
    return ThreadMessage(
        id=message.id or 0, direction=message.direction, sender_kind=message.sender_kind,
        sender_name=sender_name or '', type=message.type, text=message.text, status=message.status,
        error_code=message.error_code, error_title=message.error_title, error_details=message.error_details,
        sent_at=message.sent_at, fields=message.payload.get('fields', {}) if message.payload else {},
        media=MediaView(id=media.id or 0, mime_type=media.mime_type, filename=media.filename, status=media.status,
                        has_thumbnail=bool(media.thumbnail_path), size_bytes=media.size_bytes) if media else None,
    )


async def media_for_viewer(db: Database, *, viewer: Viewer, media_id: int) -> Media:
    """A media row the viewer may open (through a message of a conversation of their branches)."""
    async with db.session() as session:
        row = (await session.exec(
            select(Media, Conversation.branch_id)
            .join(Message, col(Message.media_id) == col(Media.id))
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Media.id == media_id))).first()
    if row is None or not viewer.can_see_branch(row[1]):
        raise NotFound(f'no media {media_id}')
    return row[0]


async def canned_responses(db: Database, *, viewer: Viewer, branch_id: int) -> list[Canned]:
    """Quick replies for one branch: the branch's own and those for every branch."""
    viewer.require_branch(branch_id)
    async with db.session() as session:
        rows = (await session.exec(
            select(CannedResponse).where(or_(col(CannedResponse.branch_id).is_(None),
                                             CannedResponse.branch_id == branch_id))
            .order_by(CannedResponse.shortcut))).all()
    return [Canned(shortcut=row.shortcut, title=row.title, body=row.body) for row in rows]


async def approved_templates(db: Database, *, viewer: Viewer, conversation_id: int) -> list[TemplateOption]:
    """What may be sent outside the 24 h window from this conversation's number (M4)."""
    await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    async with db.session() as session:
        number_id = (await session.exec(select(Conversation.number_id)
                                        .where(Conversation.id == conversation_id))).one()
        rows = (await session.exec(
            select(MessageTemplate).where(MessageTemplate.number_id == number_id,
                                          MessageTemplate.status == TemplateStatus.APPROVED)
            .order_by(MessageTemplate.name))).all()
    return [TemplateOption(name=row.name, language=row.language, body=row.body, variable_count=row.variable_count)
            for row in rows]


# --- changing ---------------------------------------------------------------------------------------------


async def mark_read(db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher) -> None:
    """The agent opened the conversation: its unread counter goes to zero everywhere."""
    row = await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    if row.unread_count == 0:
        return
    async with db.session() as session:
        await session.exec(update(Conversation).where(col(Conversation.id) == conversation_id)
                           .values(unread_count=0))
        await session.commit()
    await publisher.publish([Event(CONVERSATION_UPDATED, row.branch_id, conversation_id, {'reason': 'read'})])


async def update_contact(db: Database, *, viewer: Viewer, conversation_id: int, display_name: str, notes: str,
                         email: str = '', publisher: EventPublisher) -> None:
    """Agents correct the customer's name and keep notes, from a conversation they may see."""
    row = await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    if len(display_name) > 120 or len(notes) > 4000 or len(email) > 200:
        raise InvalidInput('name up to 120 characters, e-mail up to 200, notes up to 4000')
    async with db.session() as session:
        await session.exec(update(Contact).where(col(Contact.id) == row.contact_id).values(
            display_name=display_name.strip(), notes=notes.strip(), email=email.strip(), updated_at=utcnow()))
        # Who changed a customer's data, never the data itself (O3).
        audit.record(session, action='contact.updated', actor=viewer, target_type='contact',
                     target_id=row.contact_id)
        await session.commit()
    await publisher.publish([Event(CONVERSATION_UPDATED, row.branch_id, conversation_id, {'reason': 'contact'})])


async def set_labels(db: Database, *, viewer: Viewer, conversation_id: int, labels: list[str],
                     publisher: EventPublisher) -> list[str]:
    row = await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    clean = sorted({label.strip().lower()[:40] for label in labels if label.strip()})
    async with db.session() as session:
        await session.exec(delete(ConversationLabel).where(col(ConversationLabel.conversation_id) == conversation_id))
        session.add_all([ConversationLabel(conversation_id=conversation_id, label=label) for label in clean])
        await session.commit()
    await publisher.publish([Event(CONVERSATION_UPDATED, row.branch_id, conversation_id, {'reason': 'labels'})])
    return clean


# --- one query per event, not per page --------------------------------------------------------------------


class SnapshotCache:
    """Memo of recent reads keyed by what an event is about. When twenty pages react to the same event,
    the first one loads and the others await that same load; entries expire after `ttl` seconds."""

    def __init__(self, *, ttl: float = 2.0, max_entries: int = 2000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > self.ttl:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.ttl}
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._entries[key] = (now, future)
            try:
                future.set_result(await load())
            except Exception as exc:
                self._entries.pop(key, None)
                future.set_exception(exc)
                future.exception()  # retrieved here so a lone failure is not reported as never retrieved
                raise
            return future.result()
        return await asyncio.shield(entry[1])

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)


async def live_row(db: Database, cache: SnapshotCache, *, viewer: Viewer, conversation_id: int,
                   version: Hashable = None) -> ConversationRow | None:
    """The list row of a conversation for a live page (None when the viewer may not see it)."""
    async def load() -> ConversationRow | None:
        try:
            return await get_conversation(db, viewer=_SYSTEM, conversation_id=conversation_id)
        except NotFound:
            return None

    row = await cache.get(('row', conversation_id, version), load)
    return row if row is not None and viewer.can_see_branch(row.branch_id) else None


async def live_message(db: Database, cache: SnapshotCache, *, viewer: Viewer, message_id: int,
                       version: Hashable = None) -> ThreadMessage | None:
    """A message for live threads; loaded once per event for every page that shows it."""
    async def load() -> tuple[ThreadMessage, int] | None:
        async with db.session() as session:
            branch = (await session.exec(
                select(Conversation.branch_id).join(Message, col(Message.conversation_id) == col(Conversation.id))
                .where(Message.id == message_id))).first()
        if branch is None:
            return None
        message = await thread_message(db, viewer=_SYSTEM, message_id=message_id)
        return (message, branch) if message else None

    loaded = await cache.get(('message', message_id, version), load)
    return loaded[0] if loaded is not None and viewer.can_see_branch(loaded[1]) else None


# Loads for the shared cache run as "everyone"; what each page gets is checked against its viewer above.
_SYSTEM = Viewer(user_id=None, username='system', full_name='system', role=Role.ADMIN, branch_id=None,
                 branch_ids=None)
